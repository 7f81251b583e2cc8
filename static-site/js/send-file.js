// Sending a file: declared to the API (checked against WhatsApp's limits), its bytes put
// straight to the object store, then sent with the caption. Each try declares afresh: an
// upload link lasts 5 minutes.
import * as api from './api.js';
import { upload } from './upload.js';

/**
 * Sends `file` (declared as `type`) to `phone` with `caption`, answering message `replyTo` if set. `onStage('uploading' |
 * 'sending')`, `onProgress(fraction)`; `signal` cancels the upload. Resolves as api.send
 * does; rejects with the API's error (ApiError) or the upload's (UploadError).
 */
export async function sendFile(phone, { file, type, caption, replyTo = null }, { onStage = () => {}, onProgress, signal } = {}) {
  const declared = await api.declareAttachment(phone, { filename: file.name, mime_type: type, size: file.size });
  onStage('uploading');
  await upload(declared.upload_url, declared.upload_headers, file, { onProgress, signal });
  onStage('sending');
  return api.sendAttachment(phone, declared.attachment_id, caption, replyTo);
}
