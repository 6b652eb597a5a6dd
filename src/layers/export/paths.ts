import { resolve } from 'node:path';

/** An absolute, '/'-separated path, as the FileSystem port takes them (as Database.open resolves its folder). */
export function absolutePath(path: string): string {
  return resolve(path).replace(/\\/g, '/');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
