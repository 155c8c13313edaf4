// Decoding the ABI's inputs: the route input and the classify input.

import { Reader, keyCode } from "./reader";
import { decimal } from "./text";
import { Answer, Config, Input, Properties } from "./types";

// The codes of the member names the ABI gives (see Reader.key).
const ABI = keyCode("abi");
const TENANT_ID = keyCode("tenantId");
const MESSAGE_ID = keyCode("messageId");
const RULE = keyCode("rule");
const CONTENT = keyCode("content");
const PROPERTIES = keyCode("properties");
const CONFIGS = keyCode("configs");
const APP_KEY = keyCode("appKey");
const EXT = keyCode("ext");
const ID = keyCode("id");
const URL = keyCode("url");
const HAS_KEY = keyCode("hasKey");
const HAS_TOKEN = keyCode("hasToken");
const CHANNEL = keyCode("channel");
const STATUS_CODE = keyCode("statusCode");
const HEADERS = keyCode("headers");
const BODY = keyCode("body");

/** Decodes a route input; on an error, r says what and where. */
export function decodeInput(r: Reader): Input {
  let input = new Input();
  if (r.isNull() || !r.enterObject()) return input;
  for (let n = 0; r.nextMember(n); n++) {
    let field = "";
    if (r.key(ABI, "abi")) {
      field = "abi";
      input.abi = <i32>r.integer();
    } else if (r.key(TENANT_ID, "tenantId")) {
      field = "tenantId";
      input.tenantId = r.str();
    } else if (r.key(MESSAGE_ID, "messageId")) {
      field = "messageId";
      input.messageId = r.str();
    } else if (r.key(RULE, "rule")) {
      field = "rule";
      input.rule = r.str();
    } else if (r.key(CONTENT, "content")) {
      field = "content";
      input.content = r.str();
    } else if (r.key(PROPERTIES, "properties")) {
      field = "properties";
      decodeProperties(r, input.properties);
    } else if (r.key(CONFIGS, "configs")) {
      field = "configs";
      decodeConfigs(r, input.configs);
    } else {
      r.skip();
    }
    if (r.failed) {
      r.inField(field);
      break;
    }
  }
  return input;
}

// decodeProperties reads properties into p. As in Go's encoding/json, an
// object given twice is merged into the first, and null changes nothing.
function decodeProperties(r: Reader, p: Properties): void {
  if (r.isNull() || !r.enterObject()) return;
  for (let n = 0; r.nextMember(n); n++) {
    let field = "";
    if (r.key(APP_KEY, "appKey")) {
      field = "appKey";
      p.appKey = r.str();
    } else if (r.key(RULE, "rule")) {
      field = "rule";
      p.rule = r.str();
    } else if (r.key(EXT, "ext")) {
      field = "ext";
      r.stringMap(p.ext);
    } else {
      r.skip();
    }
    if (r.failed) {
      r.inField(field);
      return;
    }
  }
}

// decodeConfigs reads configs into cs, emptied first (by null too).
function decodeConfigs(r: Reader, cs: Config[]): void {
  cs.length = 0;
  if (r.isNull() || !r.enterArray()) return;
  for (let n = 0; r.nextElement(n); n++) {
    let c = new Config();
    if (!r.isNull() && r.enterObject()) {
      for (let m = 0; r.nextMember(m); m++) {
        let field = "";
        if (r.key(ID, "id")) {
          field = "id";
          c.id = r.str();
        } else if (r.key(URL, "url")) {
          field = "url";
          c.url = r.str();
        } else if (r.key(HAS_KEY, "hasKey")) {
          field = "hasKey";
          c.hasKey = r.boolean();
        } else if (r.key(HAS_TOKEN, "hasToken")) {
          field = "hasToken";
          c.hasToken = r.boolean();
        } else {
          r.skip();
        }
        if (r.failed) {
          r.inField(field);
          break;
        }
      }
    }
    if (r.failed) {
      r.inField("[" + decimal(n) + "]");
      return;
    }
    cs.push(c);
  }
}

/** Decodes a classify input; on an error, r says what and where. */
export function decodeAnswer(r: Reader): Answer {
  let a = new Answer();
  if (r.isNull() || !r.enterObject()) return a;
  for (let n = 0; r.nextMember(n); n++) {
    let field = "";
    if (r.key(ABI, "abi")) {
      field = "abi";
      a.abi = <i32>r.integer();
    } else if (r.key(CHANNEL, "channel")) {
      field = "channel";
      a.channel = r.str();
    } else if (r.key(STATUS_CODE, "statusCode")) {
      field = "statusCode";
      a.statusCode = <i32>r.integer();
    } else if (r.key(HEADERS, "headers")) {
      field = "headers";
      r.stringMap(a.headers);
    } else if (r.key(BODY, "body")) {
      field = "body";
      a.body = r.str();
    } else {
      r.skip();
    }
    if (r.failed) {
      r.inField(field);
      break;
    }
  }
  return a;
}
