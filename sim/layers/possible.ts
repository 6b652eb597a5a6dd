/**
 * What a layer checker knows of one value after a history with unknown outcomes: the set of
 * contents it may hold. An acknowledged write replaces the set by what it wrote; one whose
 * outcome is unknown ('info': a crash, an error after the commit point) adds what it wrote; a
 * failed one changes nothing; a read that committed narrows the set to what it saw. Operations
 * on one value never overlap (the workloads serialize them), so this is exact.
 */
export class Possible<T> {
  private values: T[];
  /** Too many unknown outcomes in a row: the set is dropped until a read pins it again. */
  private lost = false;

  constructor(
    initial: T,
    private readonly same: (a: T, b: T) => boolean,
    private readonly limit = 32,
  ) {
    this.values = [initial];
  }

  /** The contents it may hold; null when unknown (too many unknown outcomes). */
  get all(): readonly T[] | null {
    return this.lost ? null : this.values;
  }

  /** An operation that maps each possible content to its result, ended with `outcome`. */
  apply(outcome: 'ok' | 'fail' | 'info', f: (v: T) => T): void {
    if (outcome === 'fail' || this.lost) return;
    const next = this.values.map(f);
    this.set(outcome === 'ok' ? next : [...this.values, ...next]);
  }

  /**
   * A committed read saw something `matches` accepts; `whole` is the content when it saw all of
   * it (then it also pins a set that was dropped). False when no possible content matches: a
   * lost or torn value.
   */
  observe(matches: (v: T) => boolean, whole?: { value: T }): boolean {
    if (this.lost) {
      if (whole) [this.lost, this.values] = [false, [whole.value]];
      return true;
    }
    const kept = this.values.filter(matches);
    if (kept.length === 0) return false;
    this.set(kept);
    return true;
  }

  private set(values: T[]): void {
    const unique: T[] = [];
    for (const v of values) if (!unique.some((u) => this.same(u, v))) unique.push(v);
    this.values = unique;
    this.lost = unique.length > this.limit;
  }
}
