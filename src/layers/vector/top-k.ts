/** Top-k selection of both retrieval layers (vector store, ../search): higher score first, then smaller id. */

/** Ranking order of both layers: higher score first, then smaller id (so results are deterministic). */
export function better(scoreA: number, idA: string, scoreB: number, idB: string): boolean {
  return scoreA > scoreB || (scoreA === scoreB && idA < idB);
}

/**
 * The k best (score, id) pairs seen so far: a binary heap whose root is the worst kept. `worst`
 * is the bar a new candidate must beat once the heap is full.
 */
export class TopK<T extends { id: string; score: number }> {
  private readonly heap: T[] = [];

  constructor(readonly k: number) {}

  get full(): boolean {
    return this.heap.length >= this.k;
  }

  /** The score to beat (-Infinity until k are kept). */
  get bar(): number {
    return this.full ? this.heap[0]!.score : -Infinity;
  }

  /** Whether (score, id) would be kept: cheap test before the caller builds the entry. */
  admits(score: number, id: string): boolean {
    if (!this.full) return true;
    const worst = this.heap[0]!;
    return better(score, id, worst.score, worst.id);
  }

  push(entry: T): void {
    if (!this.full) {
      this.heap.push(entry);
      this.up(this.heap.length - 1);
    } else if (this.admits(entry.score, entry.id)) {
      this.heap[0] = entry;
      this.down(0);
    }
  }

  /** Best first. */
  sorted(): T[] {
    return [...this.heap].sort((a, b) => (better(a.score, a.id, b.score, b.id) ? -1 : 1));
  }

  private worse(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return better(b.score, b.id, a.score, a.id);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.worse(l, m)) m = l;
      if (r < n && this.worse(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = t;
  }
}
