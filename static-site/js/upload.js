// Puts a file's bytes to a presigned link of the object store (another origin), with
// XMLHttpRequest: fetch reports no upload progress.

export class UploadError extends Error {
  constructor(message, { status = 0, aborted = false } = {}) {
    super(message);
    this.status = status;
    this.aborted = aborted;
  }
}

function failure(status) {
  if (status === 0) return 'The upload failed: the file store could not be reached. Check the connection.';
  if (status === 403) return 'The upload was refused: its link has expired (it lasts 5 minutes).';
  return `The upload failed: the file store answered ${status}.`;
}

/**
 * PUTs `file` to `url` with `headers`; `onProgress(fraction)` as it goes. Resolves when the
 * store has it; rejects with an UploadError (`aborted` when `signal` stopped it).
 */
export function upload(url, headers, file, { onProgress = () => {}, signal } = {}) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new UploadError('The upload was cancelled.', { aborted: true }));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new UploadError(failure(xhr.status), { status: xhr.status }));
      }
    });
    xhr.addEventListener('error', () => reject(new UploadError(failure(0))));
    xhr.addEventListener('timeout', () => reject(new UploadError(failure(0))));
    xhr.addEventListener('abort', () => reject(new UploadError('The upload was cancelled.', { aborted: true })));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
