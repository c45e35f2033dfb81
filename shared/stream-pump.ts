// A relay stream's byte pumps, used by both ends: the hub joins a visitor's socket to the agent's
// stream for it, the agent joins that stream to the workload's port.
//
// joinSockets: the agent's stream is a socket of its own (an HTTP upgrade to BYTE_STREAM_PROTOCOL,
// one per visitor, readied by prepareByteStream) — bytes go through as they are, like a plain TCP
// proxy.
//
// pumpStream: the agent's stream is a WebSocket (a hub or a proxy that does not take the byte-stream
// upgrade). Directly — socket 'data' → ws.send, ws 'message' → socket.write — instead of through
// createWebSocketStream and pipeline, whose
// Duplex waited for each send's callback before the next one and ran every chunk through two more
// stream buffers. Side by side in bench/relay this is level on bulk CPU per MB and a little quicker
// per message; ws's own framing is most of what remains. It lives in shared/ so both ends run the
// same code: it imports nothing, and names what it needs of a socket and a WebSocket as interfaces.
//
// Guarantees: each direction queues at most `bufferBytes` (plus one chunk or message) in user space
// before its source pauses — the socket by pause() until the sends have reached the kernel, the
// WebSocket by ws.pause() until the socket's 'drain'; a clean end of either side ends the other
// (socket end → close frame after what was sent; close frame → socket.end() after what was queued);
// a cut (error, destroy, terminate) on the socket cuts the WebSocket, and a WebSocket that closes
// either way ends the socket.

/** What the pump needs of a socket (a `net.Socket`, a TLS socket, a visitor's Duplex). */
export interface PumpSocket {
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  readonly writableLength: number;
  readonly writableHighWaterMark: number;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
  write(data: Uint8Array): boolean;
  end(): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
}

/** What joinSockets needs of each side: a `net.Socket` or a TLS socket (a `pipe()`-able Duplex). */
export interface JoinedSocket {
  allowHalfOpen: boolean;
  readonly readableEnded: boolean;
  readonly writableFinished: boolean;
  pipe<T extends NodeJS.WritableStream>(destination: T): T;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  destroy(): unknown;
}

/**
 * Idle time before TCP keepalive probes on a byte stream, at both ends: what the WebSocket heartbeat
 * does for WebSocket streams (keeps NAT and load-balancer idle timers from dropping a quiet database
 * session, and lets the kernel find a peer that vanished).
 */
export const BYTE_STREAM_KEEPALIVE_MS = 30_000;

/** What prepareByteStream needs of an upgraded connection (a `net.Socket` or a TLS socket). */
export interface UpgradedSocket {
  setTimeout(ms: number): unknown;
  setNoDelay(noDelay: boolean): unknown;
  setKeepAlive(enable: boolean, initialDelayMs: number): unknown;
  unshift(chunk: Uint8Array): void;
}

/**
 * Readies a connection just switched to a byte stream, at either end, for the visitor's bytes: no
 * idle timeout left from the HTTP exchange, no Nagle (a small answer goes out now), TCP keepalive,
 * and `head` — bytes that arrived in the same read as the upgrade — first in line.
 */
export function prepareByteStream(socket: UpgradedSocket, head: Uint8Array): void {
  socket.setTimeout(0);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, BYTE_STREAM_KEEPALIVE_MS);
  if (head.length > 0) socket.unshift(head);
}

/**
 * Relays bytes between two sockets both ways (each `pipe()` bounds what it queues to the
 * destination's high-water mark, pausing the source until 'drain'). An end travels as an end: either
 * side may half-close and still read the other's answer, as over a direct TCP connection. A cut
 * (error, reset, destroy) of either side cuts the other. `onClosed` runs once both have closed, with
 * the first error.
 */
export function joinSockets<
  A extends JoinedSocket & NodeJS.WritableStream,
  B extends JoinedSocket & NodeJS.WritableStream,
>(a: A, b: B, onClosed?: (err?: Error) => void): void {
  let error: Error | undefined;
  let open = 2;
  a.allowHalfOpen = true;
  b.allowHalfOpen = true;
  const watch = (self: JoinedSocket, other: JoinedSocket) => {
    self.on('error', (err) => (error ??= err));
    self.on('close', () => {
      // Closed without both directions ending: a cut, which the other side must see as one.
      if (!(self.readableEnded && self.writableFinished)) other.destroy();
      if (--open === 0) onClosed?.(error);
    });
  };
  watch(a, b);
  watch(b, a);
  a.pipe(b);
  b.pipe(a);
}

/** What the pump needs of an open WebSocket (ws's client and server sockets alike). */
export interface PumpWebSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array, options: { binary: boolean }, cb: (err?: Error) => void): void;
  close(code: number): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  on(event: 'message', listener: (data: Uint8Array) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * The default bound: one socket read. Past it the kernel's socket buffers do the queueing, so more
 * here buys no throughput (side by side in bench/relay, 256 KiB cost the relay hops as much or more
 * user CPU per MB than 64 KiB).
 */
export const STREAM_PUMP_BUFFER_BYTES = 64 * 1024;

const OPEN = 1;
const SEND_BINARY = { binary: true };

export interface StreamPumpOptions {
  /** Bytes each direction may queue in user space before its source pauses. */
  bufferBytes?: number;
  /** Once both sides have closed; with the first error either side had. */
  onClosed?(err?: Error): void;
}

/** Relays bytes between `ws` (open) and `socket` both ways until both end; starts the socket flowing. */
export function pumpStream(ws: PumpWebSocket, socket: PumpSocket, opts: StreamPumpOptions = {}): void {
  const limit = Math.max(opts.bufferBytes ?? STREAM_PUMP_BUFFER_BYTES, socket.writableHighWaterMark);
  let error: Error | undefined;
  let socketEnded = false;
  let socketPaused = false;
  let wsPaused = false;
  let open = 2;
  const closed = () => {
    if (--open === 0) opts.onClosed?.(error);
  };
  // Runs as each send reaches the kernel (one function for all of them: Node batches the calls).
  const sent = () => {
    if (socketPaused && ws.bufferedAmount < limit) {
      socketPaused = false;
      socket.resume();
    }
  };
  const resumeWs = () => {
    wsPaused = false;
    ws.resume();
  };

  socket.on('data', (chunk) => {
    if (ws.readyState !== OPEN) {
      // The stream is closing: nothing more can reach the other side.
      if (socket.writableFinished) socket.destroy();
      return;
    }
    ws.send(chunk, SEND_BINARY, sent);
    if (!socketPaused && ws.bufferedAmount >= limit) {
      socketPaused = true;
      socket.pause();
    }
  });
  socket.on('end', () => {
    socketEnded = true;
    if (ws.readyState === OPEN) ws.close(1000);
  });
  socket.on('error', (err) => (error ??= err));
  socket.on('close', () => {
    // Cut rather than ended: the other side must not wait for a close frame that will not come.
    if (!socketEnded) ws.terminate();
    else if (wsPaused) resumeWs(); // the other side's close frame still has to be read
    closed();
  });

  ws.on('message', (data) => {
    if (socket.destroyed) return;
    socket.write(data);
    if (!wsPaused && socket.writableLength >= limit) {
      wsPaused = true;
      ws.pause();
      socket.once('drain', resumeWs);
    }
  });
  ws.on('error', (err) => (error ??= err));
  ws.on('close', () => {
    socket.end();
    // A socket held back for the WebSocket reads again, so its end (or its further bytes) shows.
    if (socketPaused) {
      socketPaused = false;
      socket.resume();
    }
    closed();
  });
  socket.resume();
}
