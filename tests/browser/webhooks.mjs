// Webhooks the simulator's page cannot send (a message days old, a reply, a reaction, a status),
// signed as Meta signs them with the local stack's default app secret.
import { createHmac, randomBytes } from 'node:crypto';

const APP_SECRET = 'local-app-secret';
const PHONE_NUMBER_ID = '100000000000001';

/** Posts a webhook of the messages field, `value` holding what changed, signed as Meta signs it. */
async function post(stack, value) {
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '0', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550000000', phone_number_id: PHONE_NUMBER_ID }, ...value } }] }] });
  const signature = `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;
  const response = await fetch(`${stack.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
  if (response.status !== 200) throw new Error(`webhook: ${response.status} ${await response.text()}`);
}

/** Posts one user message (`message` holds `type` and its object); answers its wamid. */
export async function userWebhook(stack, { phone, name }, message, { secondsAgo = 0 } = {}) {
  const wamid = `wamid.TEST${randomBytes(8).toString('hex')}`;
  await post(stack, {
    contacts: [{ profile: { name }, wa_id: phone }],
    messages: [{ from: phone, id: wamid, timestamp: String(Math.floor(Date.now() / 1000) - secondsAgo), ...message }],
  });
  return wamid;
}

/** Posts the status (`delivered`, `read`…) of the business message `wamid` sent to `phone`. */
export async function statusWebhook(stack, phone, wamid, status) {
  await post(stack, { statuses: [{ id: wamid, status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: phone }] });
}

export const text = (body, replyToWamid = null) => ({
  type: 'text',
  text: { body },
  ...(replyToWamid ? { context: { from: '15550000000', id: replyToWamid } } : {}),
});

/** A reaction to the message `wamid`; an empty emoji takes it back. */
export const reaction = (wamid, emoji) => ({ type: 'reaction', reaction: { message_id: wamid, emoji } });

/** The business messages the simulated phone holds (Graph request bodies), oldest first. */
export async function businessMessages(stack, phone) {
  const { messages } = await (await fetch(`${stack.url}/simulator/api/messages?phone=${phone}`)).json();
  return messages.filter((m) => m.from === 'business').map((m) => m.message);
}
