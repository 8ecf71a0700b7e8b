// Cues a cook hears across the kitchen. Browsers allow sound only after a tap, so nothing plays
// until "Start shift"; the tones are synthesised, so there is no file to fetch.

const PATTERNS = {
  // two rising notes: a new ticket
  ticket: [[660, 0, 0.12], [880, 0.15, 0.18]],
  // three low pulses: a cancel
  cancel: [[300, 0, 0.2], [300, 0.28, 0.2], [300, 0.56, 0.3]],
  // fast high triple: a rush
  rush: [[1040, 0, 0.08], [1040, 0.11, 0.08], [1320, 0.22, 0.16]],
};

export class Sounds {
  constructor() {
    /** @type {AudioContext|null} */
    this.context = null;
    this.muted = false;
  }

  get enabled() {
    return this.context !== null && this.context.state === "running" && !this.muted;
  }

  /** Must run inside a tap's handler. */
  async start() {
    const Context = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    if (!Context) return false;
    this.context ??= new Context();
    try {
      await this.context.resume();
    } catch {
      return false;
    }
    this.muted = false;
    this.play("ticket");
    return true;
  }

  /** @param {"ticket"|"cancel"|"rush"} name */
  play(name) {
    if (!this.enabled) return;
    const start = this.context.currentTime + 0.01;
    for (const [frequency, offset, length] of PATTERNS[name]) {
      const oscillator = this.context.createOscillator();
      const gain = this.context.createGain();
      oscillator.type = "square";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + length);
      oscillator.connect(gain).connect(this.context.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + length + 0.02);
    }
  }
}
