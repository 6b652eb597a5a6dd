import { crc32Update } from '../../codec/crc32.js';
import type { FileHandle } from '../../ports/file-system.js';

/** Lines are gathered up to this many UTF-16 units, then written: few large writes, bounded memory. */
const FLUSH_AT = 1 << 20;
const TEXT = new TextEncoder();

/** Appends lines to a file in large writes, keeping the running CRC-32 and byte count. */
export class LineWriter {
  private pending: string[] = [];
  private pendingLength = 0;
  private position = 0;
  crc = 0;

  constructor(private readonly file: FileHandle) {}

  get bytes(): number {
    return this.position;
  }

  async line(text: string): Promise<void> {
    this.pending.push(text, '\n');
    this.pendingLength += text.length + 1;
    if (this.pendingLength >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const bytes = TEXT.encode(this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
    await this.file.write(this.position, bytes);
    this.crc = crc32Update(this.crc, bytes);
    this.position += bytes.length;
  }
}
