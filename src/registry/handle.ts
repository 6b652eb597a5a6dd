import { corrupt } from '../errors/sop-error.js';
import { readUuidString as formatUuid, writeUuidBytes as writeUuid } from '../codec/bytes.js';
import { NIL_UUID } from '../util/uuid.js';

/**
 * A handle maps a node's logical id to the physical blob that holds its current body
 * (spec REG-1). Updates never overwrite a blob: the new body goes under a fresh physical id
 * in the inactive slot and the commit flips `activeB` and bumps `version` (spec COW-1).
 */
export interface Handle {
  readonly logicalId: string;
  readonly physicalA: string;
  readonly physicalB: string;
  readonly activeB: boolean;
  readonly version: number;
  /** Wall-clock ms of the last flip; informational (inspect), never used for decisions. */
  readonly stamp: number;
}

export const HANDLE_SIZE = 62;

export function activePhysical(handle: Handle): string {
  return handle.activeB ? handle.physicalB : handle.physicalA;
}

export function inactivePhysical(handle: Handle): string {
  return handle.activeB ? handle.physicalA : handle.physicalB;
}

export function newHandle(logicalId: string, physicalId: string, stamp: number): Handle {
  return { logicalId, physicalA: physicalId, physicalB: NIL_UUID, activeB: false, version: 1, stamp };
}

/** The handle after a committed update: the new body becomes active, the old one inactive. */
export function flipped(handle: Handle, newPhysical: string, stamp: number): Handle {
  return handle.activeB
    ? { ...handle, physicalA: newPhysical, activeB: false, version: handle.version + 1, stamp }
    : { ...handle, physicalB: newPhysical, activeB: true, version: handle.version + 1, stamp };
}

/** Layout (SOP E133 order): logical 0-15, A 16-31, B 32-47, activeB 48, version 49-52 LE, stamp 53-60 LE, flags 61. */
export function writeHandle(handle: Handle, target: Uint8Array, offset: number): void {
  writeUuid(handle.logicalId, target, offset);
  writeUuid(handle.physicalA, target, offset + 16);
  writeUuid(handle.physicalB, target, offset + 32);
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  target[offset + 48] = handle.activeB ? 1 : 0;
  view.setUint32(offset + 49, handle.version, true);
  view.setFloat64(offset + 53, handle.stamp, true);
  target[offset + 61] = 1; // "occupied": keeps a handle distinguishable from an empty slot
}

export function readHandle(source: Uint8Array, offset: number, where: string): Handle | null {
  if (source[offset + 61] === 0 && isZero(source, offset, HANDLE_SIZE)) return null;
  const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
  const active = source[offset + 48];
  if (source[offset + 61] !== 1 || (active !== 0 && active !== 1)) throw corrupt(`${where}: malformed handle`);
  const handle: Handle = {
    logicalId: formatUuid(source, offset),
    physicalA: formatUuid(source, offset + 16),
    physicalB: formatUuid(source, offset + 32),
    activeB: active === 1,
    version: view.getUint32(offset + 49, true),
    stamp: view.getFloat64(offset + 53, true),
  };
  if (handle.version < 1 || activePhysical(handle) === NIL_UUID) throw corrupt(`${where}: malformed handle`);
  return handle;
}

function isZero(bytes: Uint8Array, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) if (bytes[i] !== 0) return false;
  return true;
}

export function sameHandle(a: Handle, b: Handle): boolean {
  return (
    a.logicalId === b.logicalId &&
    a.physicalA === b.physicalA &&
    a.physicalB === b.physicalB &&
    a.activeB === b.activeB &&
    a.version === b.version
  );
}
