// The voice playground: a client of /ws/voice/{connection_id} that behaves as NextEVI's
// browser SDK does (shared/reference/nextevi.md §1–§5 and §13): the JWT in the query as
// URLSearchParams encodes it, session_settings as soon as the socket opens, 2048-sample
// Int16 frames from a 24 kHz AudioContext sent as binary, tts_chunk audio played through
// an AudioWorklet. Unlike the SDK it clears its playback buffer on tts_interruption, and
// turns the interim user bubble into the final one instead of adding a second.
const RATE = 24000;

const root = document.getElementById("playground");
const form = document.getElementById("connect-form");
const fields = {
  token: document.getElementById("token"),
  configId: document.getElementById("config_id"),
  projectId: document.getElementById("project_id"),
};
const connectButton = document.getElementById("connect");
const hangUpButton = document.getElementById("disconnect");
const stateBadge = document.getElementById("state");
const statusDetail = document.getElementById("status-detail");
const framesSentText = document.getElementById("frames-sent");
const secondsPlayedText = document.getElementById("seconds-played");
const conversationBox = document.getElementById("conversation");

// What the page has done, for people debugging a config and for the browser tests.
const stats = {
  state: "idle",
  connectionId: null,
  framesSent: 0,
  ttsChunks: 0,
  samplesPlayed: 0,
  received: [],
  closeCode: null,
  closeReason: "",
};
window.voicePlayground = stats;

// A token given in the page's query has filled the form: keep it out of the history.
if (location.search) history.replaceState(null, "", location.pathname);

function setState(state, detail = "") {
  stats.state = state;
  stateBadge.textContent = state;
  stateBadge.dataset.state = state;
  statusDetail.textContent = detail;
}

// The SDK's connection id format (reference §1.1): voice_<ms>_<9 base-36 characters>.
function connectionId() {
  const suffix = Math.random().toString(36).slice(2, 11).padEnd(9, "0");
  return `voice_${Date.now()}_${suffix}`;
}

// Exactly as the SDK builds it (reference §13.2): URLSearchParams, so the space after
// "Bearer" is sent as "+", in the order authorization, project_id, config_id.
function voiceUrl(id, token, configId, projectId) {
  const query = new URLSearchParams();
  query.set("authorization", `Bearer ${token}`);
  if (projectId) query.set("project_id", projectId);
  query.set("config_id", configId);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/voice/${encodeURIComponent(id)}?${query}`;
}

function base64ToBuffer(text) {
  const bytes = atob(text);
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes.charCodeAt(i);
  return out.buffer;
}

// -- the conversation, as chat bubbles --------------------------------------------------

class Conversation {
  constructor(box) {
    this.box = box;
    this.interim = null; // the user's words while they are still speaking
    this.replies = new Map(); // generation_id -> the assistant's bubble
    this.lastReply = null;
  }

  clear() {
    this.box.replaceChildren();
    this.interim = null;
    this.replies.clear();
    this.lastReply = null;
  }

  bubble(role, text) {
    const item = document.createElement("div");
    item.className = `bubble ${role}`;
    const words = document.createElement("p");
    words.className = "text";
    words.textContent = text;
    item.append(words);
    this.box.append(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  user(transcript, isFinal) {
    if (!transcript) return;
    const item = this.interim || this.bubble("user interim", transcript);
    item.querySelector(".text").textContent = transcript;
    if (isFinal) {
      item.classList.remove("interim");
      this.interim = null;
    } else {
      this.interim = item;
    }
  }

  // Emotions belong to the newest final user turn that has none yet (as in the SDK).
  emotions(top) {
    const turns = this.box.querySelectorAll(".bubble.user:not(.interim):not(.felt)");
    const turn = turns[turns.length - 1];
    if (!turn || !top.length) return;
    const tags = document.createElement("ul");
    tags.className = "emotions";
    // The three strongest, leaving out those that round to nothing.
    const shares = top.map(({ emotion, percentage, confidence }) => ({
      emotion,
      share: Math.round(percentage ?? (confidence ?? 0) * 100),
    }));
    for (const { emotion, share } of shares.filter((e) => e.share > 0).slice(0, 3)) {
      const tag = document.createElement("li");
      tag.textContent = `${emotion} ${share}%`;
      tags.append(tag);
    }
    turn.append(tags);
    turn.classList.add("felt");
  }

  // `content` is cumulative: each chunk replaces the bubble's text.
  assistant(generationId, content, isFinal) {
    let item = this.replies.get(generationId);
    if (!item) {
      item = this.bubble("assistant streaming", content);
      this.replies.set(generationId, item);
    }
    item.querySelector(".text").textContent = content;
    item.classList.toggle("streaming", !isFinal);
    this.lastReply = item;
  }

  interrupted() {
    if (!this.lastReply || this.lastReply.classList.contains("interrupted")) return;
    this.lastReply.classList.add("interrupted");
    this.lastReply.classList.remove("streaming");
  }

  notice(role, text) {
    this.bubble(role, text);
  }
}

const conversation = new Conversation(conversationBox);

// -- one call: socket, microphone, playback ---------------------------------------------

class Call {
  constructor(context) {
    this.context = context;
    this.socket = null;
    this.stream = null;
    this.capture = null;
    this.playback = null;
    this.playing = false;
    this.ended = false;
  }

  async start({ token, configId, projectId }) {
    const worklets = root.dataset;
    await Promise.all([
      this.context.audioWorklet.addModule(worklets.captureWorklet),
      this.context.audioWorklet.addModule(worklets.playbackWorklet),
    ]);
    this.playback = new AudioWorkletNode(this.context, "parlance-playback", {
      numberOfInputs: 0,
      outputChannelCount: [1],
    });
    this.playback.port.onmessage = (event) => this.onPlayback(event.data);
    this.playback.connect(this.context.destination);

    stats.connectionId = connectionId();
    const socket = new WebSocket(voiceUrl(stats.connectionId, token, configId, projectId));
    this.socket = socket;
    socket.onopen = () => {
      // At once, without waiting for connection_metadata, as the SDK does.
      socket.send(
        JSON.stringify({ type: "session_settings", sample_rate: RATE, channels: 1, encoding: "linear16" }),
      );
      setState("open", "waiting for the server");
      this.startMicrophone().catch((error) => {
        conversation.notice("error", `Microphone: ${error.name}: ${error.message}`);
        socket.close(1000, "No microphone");
      });
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") this.onMessage(JSON.parse(event.data));
    };
    socket.onclose = (event) => this.onClose(event);
  }

  async startMicrophone() {
    // The SDK's capture settings (reference §5).
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: false },
    });
    if (this.ended) return this.stopMicrophone();
    const source = this.context.createMediaStreamSource(this.stream);
    // No outputs: the browser runs it for its input alone, and nothing of it is heard.
    this.capture = new AudioWorkletNode(this.context, "parlance-capture", {
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: "explicit",
    });
    this.capture.port.onmessage = (event) => {
      if (this.socket.readyState !== WebSocket.OPEN) return;
      this.socket.send(event.data);
      stats.framesSent += 1;
      framesSentText.textContent = stats.framesSent;
    };
    source.connect(this.capture);
  }

  stopMicrophone() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    if (this.capture) this.capture.disconnect();
  }

  onPlayback({ played, playing }) {
    stats.samplesPlayed = played;
    secondsPlayedText.textContent = (played / RATE).toFixed(1);
    this.playing = playing;
    if (!playing && this.ended) this.closeAudio();
  }

  // After the call, once what was already sent has been heard.
  closeAudio() {
    if (this.context.state !== "closed") this.context.close();
  }

  stopPlayback() {
    this.playback.port.postMessage("clear");
  }

  onMessage(message) {
    stats.received.push(message.type);
    switch (message.type) {
      case "connection_metadata":
        setState("connected", `connection ${message.connection_id}`);
        break;
      case "transcription":
        conversation.user(message.transcript, message.is_final);
        break;
      case "emotion_update":
        conversation.emotions(message.top_emotions || []);
        break;
      case "llm_response_chunk":
        conversation.assistant(message.generation_id, message.content, message.is_final);
        break;
      case "tts_chunk": {
        const pcm = base64ToBuffer(message.content);
        this.playback.port.postMessage(pcm, [pcm]);
        stats.ttsChunks += 1;
        break;
      }
      case "tts_interruption":
      case "user_interruption":
        this.stopPlayback();
        conversation.interrupted();
        break;
      case "idle_warning":
        conversation.notice(
          "system",
          message.warning_type === "final_warning"
            ? `Final warning: the call ends in ${message.time_remaining} s`
            : `Idle: ${message.time_remaining} s remaining`,
        );
        break;
      case "system_message":
        conversation.notice("system", message.content);
        break;
      case "error":
        conversation.notice("error", `${message.error_code}: ${message.error_message}`);
        break;
      default: // turn_complete and anything newer: nothing to show
    }
  }

  onClose(event) {
    this.ended = true;
    stats.closeCode = event.code;
    stats.closeReason = event.reason;
    setState("closed", `code ${event.code}${event.reason ? `: ${event.reason}` : ""}`);
    this.stopMicrophone();
    if (!this.playing) this.closeAudio();
    finished(this);
  }

  hangUp() {
    if (this.socket) this.socket.close(1000, "Hung up");
  }
}

let current = null;

function finished(call) {
  if (current !== call) return;
  current = null;
  connectButton.disabled = false;
  hangUpButton.disabled = true;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (current) return;
  // Created within the click: browsers start an AudioContext only after a user gesture.
  const call = new Call(new AudioContext({ sampleRate: RATE }));
  current = call;
  connectButton.disabled = true;
  hangUpButton.disabled = false;
  conversation.clear();
  Object.assign(stats, {
    framesSent: 0,
    ttsChunks: 0,
    samplesPlayed: 0,
    received: [],
    closeCode: null,
    closeReason: "",
  });
  setState("connecting");
  call
    .start({
      token: fields.token.value.trim(),
      configId: fields.configId.value.trim(),
      projectId: fields.projectId.value.trim(),
    })
    .catch((error) => {
      setState("error", `${error.name}: ${error.message}`);
      call.closeAudio();
      finished(call);
    });
});

hangUpButton.addEventListener("click", () => current && current.hangUp());
