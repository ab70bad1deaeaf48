/*
 * comlink speaks DOM-style endpoints (addEventListener); Node's MessagePort and Worker are
 * EventEmitters.  comlink ships an adapter only as an untyped deep import, so this is ours.
 */
import type { Endpoint } from 'comlink';

type Listener = Parameters<Endpoint['addEventListener']>[1];
type Transfer = Parameters<Endpoint['postMessage']>[1];

interface NodePort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  off(event: 'message', listener: (data: unknown) => void): unknown;
  start?: () => void;
}

export function nodeEndpoint(port: NodePort): Endpoint {
  const listeners = new WeakMap<object, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: Transfer) => port.postMessage(message, transfer),
    addEventListener: (_type: string, handler: Listener) => {
      const l = (data: unknown) => {
        const ev = { data } as Parameters<Extract<Listener, (...a: never[]) => unknown>>[0];
        if (typeof handler === 'function') handler(ev);
        else handler.handleEvent(ev);
      };
      listeners.set(handler, l);
      port.on('message', l);
    },
    removeEventListener: (_type: string, handler: Listener) => {
      const l = listeners.get(handler);
      if (!l) return;
      port.off('message', l);
      listeners.delete(handler);
    },
    start: port.start?.bind(port),
  } as Endpoint;
}
