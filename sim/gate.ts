import type { Gate } from './types.js';

/** A process incarnation: once killed, everything it awaits hangs forever (FDB's generation check). */
export class ProcessGate implements Gate {
  private isAlive = true;
  private onKill: Array<() => void> = [];

  alive(): boolean {
    return this.isAlive;
  }

  hang<T>(): Promise<T> {
    return new Promise<T>(() => undefined);
  }

  kill(): void {
    if (!this.isAlive) return;
    this.isAlive = false;
    for (const f of this.onKill.splice(0)) f();
  }

  /** Resolves when the incarnation dies: clients race their operations against it. */
  readonly killed: Promise<void> = new Promise((resolve) => this.onKill.push(resolve));
}
