// TTS playback for the voice playground: queues the PCM16 chunks of tts_chunk messages
// (24 kHz, the AudioContext's own rate, so no resampling) and plays them back to back.
// "clear" drops everything queued, for barge-in (tts_interruption). It reports how many
// samples it has really played, so the page (and its tests) can tell audio was heard.
const REPORT_EVERY = 2400; // samples: 100 ms at 24 kHz

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.current = null;
    this.offset = 0;
    this.played = 0;
    this.reported = 0;
    this.playing = false;
    this.port.onmessage = (event) => {
      if (event.data === "clear") {
        this.queue = [];
        this.current = null;
        this.report();
      } else {
        this.queue.push(new Int16Array(event.data));
      }
    };
  }

  queuedSamples() {
    const rest = this.current ? this.current.length - this.offset : 0;
    return this.queue.reduce((sum, chunk) => sum + chunk.length, rest);
  }

  report() {
    this.reported = this.played;
    this.port.postMessage({
      played: this.played,
      playing: this.playing,
      queued: this.queuedSamples(),
    });
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    let written = 0;
    while (written < out.length) {
      if (!this.current) {
        this.current = this.queue.shift() || null;
        this.offset = 0;
        if (!this.current) break;
      }
      const n = Math.min(out.length - written, this.current.length - this.offset);
      for (let k = 0; k < n; k++) out[written + k] = this.current[this.offset + k] / 32768;
      written += n;
      this.offset += n;
      if (this.offset === this.current.length) this.current = null;
    }
    out.fill(0, written); // silence once the queue runs dry
    this.played += written;
    const playing = written > 0;
    if (playing !== this.playing || this.played - this.reported >= REPORT_EVERY) {
      this.playing = playing;
      this.report();
    }
    return true;
  }
}

registerProcessor("parlance-playback", PlaybackProcessor);
