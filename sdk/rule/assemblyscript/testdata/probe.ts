// Rule probe exercises the SDK for its Go tests (../assemblyscript_test.go):
// properties.ext.cmd says what to do with the callback.
//
//   echo      one delivery whose body is the decoded input, as JSON
//   full      deliveries that use every field of the decision
//   reject    a rejection with ext.code and ext.message
//   invalid   a decision the SDK refuses (a delivery without a channel)
//   throw     throws: a log line at error level, then a trap
//   log       a line at each level; the body is now_ms
//   top       a body made from values the rule's top level allocated
//   valid     the body says whether the content is valid JSON
//
// It has no classify function, so the SDK's default classifies.

import {
  Decision,
  Delivery,
  Input,
  Level,
  handle,
  jsonString,
  log,
  nowMs,
  reject,
  validJSON,
} from "../assembly";

export * from "../assembly/exports";

// Allocated before the first call: they must survive every call.
const words: string[] = ["top", "level", "values"];
let greeting = words.join("-");

handle(route);

function route(input: Input): Decision {
  let cmd = input.properties.ext.get("cmd");
  if (cmd == "echo") return one(echo(input));
  if (cmd == "full") return full(input);
  if (cmd == "reject") return reject(input.properties.ext.get("code"), input.properties.ext.get("message"));
  if (cmd == "invalid") return new Decision().add(new Delivery(""));
  if (cmd == "throw") throw new Error("boom: " + input.content);
  if (cmd == "log") {
    log(Level.Debug, "debug " + input.content);
    log(Level.Info, "info");
    log(Level.Warn, "warn");
    log(Level.Error, "error");
    return one(nowMs().toString());
  }
  if (cmd == "top") return one(greeting + " " + words[2]);
  if (cmd == "valid") return one(validJSON(input.content) ? "true" : "false");
  return reject("InvalidParameter.ParamError", "unknown cmd " + jsonString(cmd));
}

function one(body: string): Decision {
  let d = new Delivery("probe");
  d.destination = "probe:";
  d.body = body;
  return new Decision().add(d);
}

function echo(input: Input): string {
  let s = "{\"abi\":" + input.abi.toString();
  s += ",\"tenantId\":" + jsonString(input.tenantId);
  s += ",\"messageId\":" + jsonString(input.messageId);
  s += ",\"rule\":" + jsonString(input.rule);
  s += ",\"content\":" + jsonString(input.content);
  s += ",\"properties\":{\"appKey\":" + jsonString(input.properties.appKey);
  s += ",\"rule\":" + jsonString(input.properties.rule) + ",\"ext\":{";
  let ext = input.properties.ext;
  for (let i = 0; i < ext.size; i++) {
    if (i > 0) s += ",";
    s += jsonString(ext.keyAt(i)) + ":" + jsonString(ext.valueAt(i));
  }
  s += "}},\"configs\":[";
  for (let i = 0; i < input.configs.length; i++) {
    let c = input.configs[i];
    if (i > 0) s += ",";
    s += "{\"id\":" + jsonString(c.id) + ",\"url\":" + jsonString(c.url);
    s += ",\"hasKey\":" + (c.hasKey ? "true" : "false") + ",\"hasToken\":" + (c.hasToken ? "true" : "false") + "}";
  }
  return s + "]}";
}

// full sends the content to the first config with every field set: the
// content as it came (copied from the input), and made anew (encoded by the
// SDK), in several fields; the ext entries as headers. A second delivery
// repeats the first's body, which the SDK copies from its output.
function full(input: Input): Decision {
  let content = input.content;
  let fresh = content.concat(""); // a new string, not the input's
  if (fresh.length > 0) fresh = fresh.substring(0, fresh.length - 1) + fresh.substring(fresh.length - 1);
  let d = new Delivery("http");
  d.configId = input.configs[0].id;
  d.destination = fresh;
  d.method = "POST";
  let ext = input.properties.ext;
  for (let i = 0; i < ext.size; i++) d.header(ext.keyAt(i), ext.valueAt(i));
  d.param("n", "1").param("q", fresh); // in the order Go sorts them
  d.body = content;
  d.bodyBase64 = "AAEC";
  d.subject = fresh;
  d.attach("a.pdf", "https://files.example.com/a.pdf").attach("", "https://files.example.com/b");
  d.retrySchedule = [0, 1000, 604800000, 9007199254740993];
  d.sign = "tim";
  let sms = new Delivery("sms");
  sms.destination = "+8613800000000";
  sms.body = fresh;
  d.fallback(sms);
  let again = new Delivery("http");
  again.configId = input.configs[0].id;
  again.body = fresh;
  let third = new Delivery("http");
  third.destination = "https://c.example.com/cb";
  third.body = fresh;
  return new Decision().add(d).add(again).add(third);
}
