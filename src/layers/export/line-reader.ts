import { crc32Update } from '../../codec/crc32.js';
import { corrupt } from '../../errors/sop-error.js';
import type { FileHandle } from '../../ports/file-system.js';

const BLOCK = 1 << 20;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface Line {
  /** 1-based. */
  readonly no: number;
  readonly text: string;
  /** CRC-32 of every byte before this line. */
  readonly crcBefore: number;
}

/** The lines of a file, read in 1 MiB blocks (a line may span many); the final newline is optional. */
export async function* readLines(file: FileHandle, where: string): AsyncGenerator<Line> {
  let position = 0;
  let carry: Uint8Array[] = [];
  let crc = 0;
  let no = 0;
  const emit = (parts: Uint8Array[]): Line => {
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    no++;
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      throw corrupt(`${where} line ${no}: not valid UTF-8`);
    }
    const line = { no, text, crcBefore: crc };
    crc = crc32Update(crc32Update(crc, bytes), NEWLINE);
    return line;
  };
  for (;;) {
    const block = await file.read(position, BLOCK);
    if (block.length === 0) break;
    position += block.length;
    let start = 0;
    for (let nl = block.indexOf(0x0a); nl >= 0; nl = block.indexOf(0x0a, start)) {
      carry.push(block.subarray(start, nl));
      yield emit(carry);
      carry = [];
      start = nl + 1;
    }
    if (start < block.length) carry.push(block.slice(start));
  }
  if (carry.length > 0) yield emit(carry);
}

const NEWLINE = new Uint8Array([0x0a]);
