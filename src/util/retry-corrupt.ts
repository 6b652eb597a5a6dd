import { SopError } from '../errors/sop-error.js';

/**
 * Runs a read-and-decode again when the decode reports corruption: a media error on the read
 * path is often transient, and a second read that passes its checksum is the truth. Persistent
 * corruption still ends as CORRUPT, never as wrong bytes (spec FMT-1).
 */
export async function retryCorrupt<T>(readAndDecode: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readAndDecode();
    } catch (error) {
      if (!SopError.is(error, 'CORRUPT') || attempt >= attempts) throw error;
    }
  }
}
