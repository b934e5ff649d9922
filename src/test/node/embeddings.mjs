// The official OpenAI Node SDK against a running gateway, called as its README shows:
//   node embeddings.mjs <base url, e.g. http://127.0.0.1:18789/v1> <token> <model> <text> [unserved model]
// Prints one JSON line: the vector of the SDK's default call (which asks for base64 and decodes
// it), and what the SDK reports for a model the gateway does not serve.
import OpenAI from 'openai';

const [baseURL, apiKey, model, input, unserved = 'text-embedding-3-small'] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

const answer = await client.embeddings.create({ model, input });

let refused = null;
try {
  await client.embeddings.create({ model: unserved, input });
} catch (e) {
  refused = { status: e.status ?? null, code: e.code ?? null, message: e.message };
}

console.log(JSON.stringify({
  model: answer.model,
  embedding: Array.from(answer.data[0].embedding),
  refused,
}));
