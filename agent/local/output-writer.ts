import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError } from '../../core/errors.ts';
import { tempBeside } from './output-mirror.ts';
import { guard } from '../cache/storage-guard.ts';
import type { TaskFiles } from '../cache/task-files.ts';

/**
 * Last hop of the data path for `pull --output --digest`: the cache is read
 * once more through sha256 into a hidden temp file beside the output, which is
 * renamed into place only if it matches the digest the user gave, so a pull of
 * the wrong bytes never leaves a file. (Without a digest, output-mirror.ts
 * writes the file while the pieces arrive.)
 */
export async function writeCheckedOutput(files: TaskFiles, output: string, expectedSha256: string): Promise<{ sha256: string }> {
  const temp = await tempBeside(output);
  try {
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await guard(temp, () => pipeline(files.readStream({ start: 0, end: files.task.size }, 1024 * 1024), tap, createWriteStream(temp)));
    const sha256 = hash.digest('hex');
    if (sha256 !== expectedSha256) {
      throw new IntegrityError(`content sha256 ${sha256} does not match --digest sha256:${expectedSha256}`, {
        context: { expected: expectedSha256, actual: sha256 },
      });
    }
    await guard(output, () => rename(temp, output));
    return { sha256 };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
