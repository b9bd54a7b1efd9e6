// HUP reloads as generations of workers: a reload starts a new generation and retires the old one
// once the new one serves. At most one new generation boots at a time; HUPs during a reload fold
// into one more reload after it.
export class Generations {
  /** The generation new workers belong to. */
  current = 0;
  /** The generation being replaced, while a reload is under way. */
  private previous: number | null = null;
  /** The settings are being re-read for a reload that has not started its workers yet. */
  private starting = false;
  /** A HUP arrived while a reload was under way. */
  private again = false;

  get reloading(): boolean {
    return this.previous !== null;
  }

  /** A HUP: true if a reload starts now; false if it was folded into one after the current one. */
  requestReload(): boolean {
    if (this.starting || this.previous !== null) {
      this.again = true;
      return false;
    }
    this.starting = true;
    return true;
  }

  /** The settings are re-read: the new generation starts. */
  begin(): void {
    this.starting = false;
    this.previous = this.current;
    this.current++;
  }

  /** The new generation serves. True if another reload was asked for meanwhile. */
  complete(): boolean {
    this.previous = null;
    const again = this.again;
    this.again = false;
    return again;
  }

  /** The new generation could not boot: back to the old one. The same code would fail again, so a
   * HUP that came meanwhile is dropped; the next one tries anew. */
  cancel(): void {
    if (this.previous !== null) this.current = this.previous;
    this.previous = null;
    this.again = false;
  }

  /** A reload that never began its generation (a canary rolled back): the old one stays current. */
  abandon(): void {
    this.starting = false;
    this.again = false;
  }

  /** The number the next generation will have: a canary's, before it is promoted. */
  get next(): number {
    return this.current + 1;
  }
}
