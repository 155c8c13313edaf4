// Rule http, in AssemblyScript: callgate's built-in http rule (rules/http),
// written against the AssemblyScript SDK. It POSTs a callback's content,
// unchanged, to every callback config of the tenant, and judges a 2xx
// answer a success and anything else worth a retry.
//
// Build it with npm run build, into build/http.wasm.

import {
  Answer,
  CODE_NO_CALLBACK_CONFIG,
  Decision,
  Delivery,
  Input,
  Verdict,
  decimal,
  handle,
  handleClassify,
  reject,
  validJSON,
} from "../assembly";

// The ABI's exports: callgate_v1_alloc, callgate_v1_route, callgate_v1_classify.
export * from "../assembly/exports";

// Content types of the body: JSON when the content is a JSON object or
// array, text otherwise (a bare JSON scalar such as 42 is more likely text
// than a document).
const CONTENT_JSON = "application/json";
const CONTENT_TEXT = "text/plain; charset=utf-8";

handle(route);
handleClassify(classify);

function route(input: Input): Decision {
  let configs = input.configs;
  if (configs.length == 0) {
    return reject(CODE_NO_CALLBACK_CONFIG, "the tenant has no callback config: add one with ModifyCallbackConfig first");
  }
  let contentType = isJSONDocument(input.content) ? CONTENT_JSON : CONTENT_TEXT;
  let d = new Decision();
  for (let i = 0; i < configs.length; i++) {
    let c = configs[i];
    let delivery = new Delivery("http");
    delivery.configId = c.id;
    delivery.destination = c.url;
    delivery.method = "POST";
    delivery.body = input.content;
    delivery.header("Content-Type", contentType);
    d.add(delivery);
  }
  return d;
}

// isJSONDocument reports whether s is a valid JSON object or array.
function isJSONDocument(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D) continue;
    return (c == 0x7B || c == 0x5B) && validJSON(s); // { or [
  }
  return false;
}

function classify(a: Answer): Verdict {
  if (a.statusCode >= 200 && a.statusCode <= 299) return Verdict.success();
  return Verdict.retry("status " + decimal(a.statusCode));
}
