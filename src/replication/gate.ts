/**
 * Many shared holders or one exclusive holder. Mirrored writes hold it shared; reinstate's last
 * step holds it exclusively, so no write lands between its final delta copy and the moment
 * mirroring turns on (spec REPL-3).
 */
export class Gate {
  private holders = 0;
  private closed: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  async shared<T>(work: () => Promise<T>): Promise<T> {
    while (this.closed) await this.closed;
    this.holders++;
    try {
      return await work();
    } finally {
      if (--this.holders === 0) this.drained?.();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.closed) await this.closed;
    let open!: () => void;
    this.closed = new Promise((resolve) => (open = resolve));
    try {
      while (this.holders > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = null;
      return await work();
    } finally {
      this.closed = null;
      open();
    }
  }
}
