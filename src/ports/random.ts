/** Random port: one seeded source so a simulation seed decides every draw. */
export interface Random {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
  /** Uniform float in [0, 1). */
  nextFloat(): number;
  /** RFC 4122 version-4 UUID, lower case, drawn from this source. */
  uuid(): string;
}
