/**
 * The UAPI socket's place in the file system: /var/run/wireguard/NAME.sock, where `wg` looks for
 * userspace interfaces. Opening follows wireguard-go's UAPIOpen: listen under umask 077; if the path is
 * taken, probe it: something answering means the interface is in use, silence means a stale socket left
 * by a process that died, which is removed before listening again.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Where `wg` and wg-quick look for userspace interfaces (wireguard-tools' RUNSTATEDIR/wireguard). */
export const SOCKET_DIRECTORY = '/var/run/wireguard';

/** Root only: the sockets in it accept private keys. */
const DIRECTORY_MODE = 0o700;
const SOCKET_MODE = 0o600;
/** Closes every bit but the owner's for files created while it is in force. */
const OWNER_ONLY_UMASK = 0o077;

export function socketPath(name: string, directory = SOCKET_DIRECTORY): string {
  return path.join(directory, `${name}.sock`);
}

/** Another process answers on the interface's socket: starting would steal `wg`'s view of it. */
export class InterfaceInUseError extends Error {
  override readonly name = 'InterfaceInUseError';
  readonly code = 'EADDRINUSE';
}

/** Start listening on `file` (created mode 0600), replacing a stale socket but never a live one. */
export async function listenOnPath(server: net.Server, file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: DIRECTORY_MODE });
  try {
    await listenOwnerOnly(server, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (await answers(file)) {
      throw new InterfaceInUseError(`interface in use: a process answers on ${file} (is another daemon running for it?)`);
    }
    fs.rmSync(file, { force: true });
    await listenOwnerOnly(server, file);
  }
  // The umask already made it 0600; chmod as well in case the umask could not apply (a file system
  // that ignores it), since this socket takes private keys.
  fs.chmodSync(file, SOCKET_MODE);
}

/** Listen on an already-bound, listening socket handed in by fd (WG_UAPI_FD). */
export function listenOnFd(server: net.Server, fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function listenOwnerOnly(server: net.Server, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    // bind(2) runs synchronously inside listen(), so the umask covers exactly the socket's creation.
    const old = process.umask(OWNER_ONLY_UMASK);
    try {
      server.listen(file, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
}

/** Whether a process accepts connections on the unix socket at `file`. */
function answers(file: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      probe.destroy();
      // Refused (no listener, or not a socket at all) or gone: stale. A full backlog (EAGAIN) means
      // a live listener; anything else we cannot judge, so we refuse rather than delete.
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else if (err.code === 'EAGAIN') resolve(true);
      else reject(err);
    });
  });
}

/** The socket file's inode, or null when it is gone: identifies "our" socket file. */
export function inodeOf(file: string): number | null {
  try {
    return fs.lstatSync(file).ino;
  } catch {
    return null;
  }
}

/**
 * Call `onRemoved` once when `file` is deleted or replaced from outside. wireguard-go watches its socket
 * with inotify (IN_ATTRIB: an unlink changes the link count) and shuts the interface down when it
 * goes: removing the socket is a documented way to stop a userspace interface. fs.watch is inotify
 * on Linux; every event is checked against lstat, since attribute changes also fire it.
 */
export function watchRemoval(file: string, onRemoved: () => void): () => void {
  const ino = inodeOf(file);
  if (ino === null) return () => {};
  let done = false;
  const check = (): void => {
    if (done || inodeOf(file) === ino) return;
    stop();
    onRemoved();
  };
  let watcher: fs.FSWatcher | null = null;
  try {
    watcher = fs.watch(file, { persistent: false }, check);
    watcher.on('error', check);
  } catch {
    // No inotify (exhausted instances): the interface still works, it only misses this signal.
    watcher = null;
  }
  const stop = (): void => {
    done = true;
    watcher?.close();
    watcher = null;
  };
  return stop;
}
