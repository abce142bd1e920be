// Microphone capture for the voice playground. The AudioContext runs at 24 kHz, so the
// browser has already resampled the microphone (48 kHz on most devices); this cuts the
// signal into frames of 2048 Int16 samples (4096 bytes), the frames NextEVI's SDK sends,
// converted as it converts them (s < 0 ? s * 32768 : s * 32767).
const FRAME_SAMPLES = 2048;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true; // no input connected yet
    for (let i = 0; i < channel.length; i++) {
      const sample = Math.max(-1, Math.min(1, channel[i]));
      this.frame[this.filled++] = sample < 0 ? sample * 32768 : sample * 32767;
      if (this.filled === FRAME_SAMPLES) {
        // Transferred, not copied: the main thread sends it as one binary frame.
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(FRAME_SAMPLES);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("parlance-capture", CaptureProcessor);
