// The values a rule reads and answers, as in sdk/rule/ABI.md.

/** The version of the rule ABI this SDK implements (the v1 in callgate_v1_route). */
export const ABI_VERSION = 1;

/**
 * A small map of strings that keeps insertion order, for ext, headers and
 * query parameters: a few entries each, where a linear search is faster
 * than hashing. Setting a key again replaces its value in place.
 */
export class StringMap {
  // Keys and values, made with the first entry.
  private k: string[] | null = null;
  private v: string[] | null = null;

  /** The number of entries. */
  get size(): i32 {
    let k = this.k;
    return k === null ? 0 : k.length;
  }

  /** Returns the value of key, or "" when there is none. */
  get(key: string): string {
    let i = this.indexOf(key);
    return i < 0 ? "" : unchecked(this.v![i]);
  }

  /** Reports whether key is set (to any value, "" included). */
  has(key: string): bool {
    return this.indexOf(key) >= 0;
  }

  /** Sets key to value and returns the map. */
  set(key: string, value: string): StringMap {
    let i = this.indexOf(key);
    if (i >= 0) {
      unchecked((this.v![i] = value));
    } else {
      let k = this.k;
      let v = this.v;
      if (k === null || v === null) {
        this.k = [key];
        this.v = [value];
      } else {
        k.push(key);
        v.push(value);
      }
    }
    return this;
  }

  /** Removes every entry. */
  clear(): void {
    this.k = null;
    this.v = null;
  }

  /** The i-th key, in insertion order. */
  keyAt(i: i32): string {
    return this.k![i];
  }

  /** The i-th value, in insertion order. */
  valueAt(i: i32): string {
    return this.v![i];
  }

  private indexOf(key: string): i32 {
    let k = this.k;
    if (k === null) return -1;
    for (let i = 0, n = k.length; i < n; i++) {
      if (unchecked(k[i]) == key) return i;
    }
    return -1;
  }
}

/** One of the tenant's callback configs: its URL, and whether a key and a token are set. */
export class Config {
  id: string = "";
  url: string = "";
  hasKey: bool = false;
  hasToken: bool = false;
}

/** The properties a client sends with a callback. */
export class Properties {
  appKey: string = "";
  rule: string = "";
  /**
   * The free-form parameters: "destination", "subject", "attachment" and
   * any other key a rule documents. Empty when the client sent none.
   */
  ext: StringMap = new StringMap();
}

/** What the gateway hands a route function for one callback. */
export class Input {
  /** The ABI version of the input, 1. */
  abi: i32 = 0;
  tenantId: string = "";
  /** The gateway's id of the callback, the same on every retry of the submission. */
  messageId: string = "";
  /** The rule code that selected this rule. */
  rule: string = "";
  /** The callback's content, exactly as the client sent it. */
  content: string = "";
  properties: Properties = new Properties();
  /** The tenant's callback configs, in the order they were added, never with their keys or tokens. */
  configs: Config[] = [];
}

/** A file for the channel to fetch from url and attach as fileName. */
export class Attachment {
  constructor(public fileName: string, public url: string) {}
}

/**
 * One message the gateway sends for a callback. channel is required, and so
 * is configId or destination: with configId the destination defaults to the
 * config's URL, and the config's key and token encrypt and sign what is
 * sent. Empty fields are left out of the decision.
 */
export class Delivery {
  /** "http", "email", "sms", or a plugin's name. */
  channel: string;
  configId: string = "";
  /** A URL, an e-mail address or a phone number, as the channel wants. */
  destination: string = "";
  /** The HTTP method, for http. */
  method: string = "";
  /** Extra headers, for http; set them with header(). */
  headers: StringMap | null = null;
  /** Query parameters added to the destination URL, for http; set them with param(). */
  query: StringMap | null = null;
  /** The body, as text. */
  body: string = "";
  /** A binary body in standard base64, used instead of body when set. */
  bodyBase64: string = "";
  /** The subject, for e-mail. */
  subject: string = "";
  /** Files the channel fetches and attaches, for e-mail; add them with attach(). */
  attachments: Attachment[] | null = null;
  /**
   * The delay before each retry, in milliseconds. null means the gateway's
   * default: 1 s, 3 s, 7 s, 30 s, 60 s, 300 s, then hourly, 20 retries.
   */
  retrySchedule: i64[] | null = null;
  /** Asks the sender for a protocol's own signature: "tim" for Tencent IM's. */
  sign: string = "";
  /** Tried in order when this delivery fails permanently; add them with fallback(). */
  fallbacks: Delivery[] | null = null;

  constructor(channel: string) {
    this.channel = channel;
  }

  /** Sets a header and returns the delivery. */
  header(name: string, value: string): Delivery {
    let h = this.headers;
    if (h === null) this.headers = h = new StringMap();
    h.set(name, value);
    return this;
  }

  /** Sets a query parameter and returns the delivery. */
  param(name: string, value: string): Delivery {
    let q = this.query;
    if (q === null) this.query = q = new StringMap();
    q.set(name, value);
    return this;
  }

  /** Adds an attachment and returns the delivery. */
  attach(fileName: string, url: string): Delivery {
    let a = this.attachments;
    if (a === null) this.attachments = a = [];
    a.push(new Attachment(fileName, url));
    return this;
  }

  /** Adds a fallback and returns the delivery. */
  fallback(d: Delivery): Delivery {
    let f = this.fallbacks;
    if (f === null) this.fallbacks = f = [];
    f.push(d);
    return this;
  }
}

/** Refuses a callback: the client gets code and message as its answer. */
export class Rejection {
  constructor(public code: string, public message: string) {}
}

/** A route function's answer: deliveries to make, or a rejection. */
export class Decision {
  deliveries: Delivery[] = [];
  /** When set, the deliveries are ignored. */
  rejection: Rejection | null = null;

  /** Adds a delivery and returns the decision. */
  add(d: Delivery): Decision {
    this.deliveries.push(d);
    return this;
  }
}

/** Returns a decision that rejects the callback with code and message. */
export function reject(code: string, message: string): Decision {
  let d = new Decision();
  d.rejection = new Rejection(code, message);
  return d;
}

/** A receiver's answer to a delivery, for a classify function to judge. */
export class Answer {
  abi: i32 = 0;
  /** The channel that made the delivery. */
  channel: string = "";
  /** The HTTP status code, for http. */
  statusCode: i32 = 0;
  /** The answer's headers that the sender keeps. */
  headers: StringMap = new StringMap();
  /** The answer's body, as text. */
  body: string = "";
}

/** The receiver took the delivery: it is done. */
export const SUCCESS = "success";
/** Try again on the retry schedule. */
export const RETRY = "retry";
/** Never retry: the delivery fails, and its fallbacks are tried. */
export const PERMANENT = "permanent";

/** A classify function's judgement of an Answer. */
export class Verdict {
  /** SUCCESS, RETRY or PERMANENT. */
  verdict: string;
  /** Why, for the delivery's attempt log; may be empty. */
  reason: string;

  constructor(verdict: string, reason: string = "") {
    this.verdict = verdict;
    this.reason = reason;
  }

  static success(reason: string = ""): Verdict {
    return new Verdict(SUCCESS, reason);
  }

  static retry(reason: string = ""): Verdict {
    return new Verdict(RETRY, reason);
  }

  static permanent(reason: string = ""): Verdict {
    return new Verdict(PERMANENT, reason);
  }
}

// Error codes a rule commonly rejects a callback with, from the gateway's
// stable vocabulary; the client gets HTTP 400 for each.

/** A required parameter is missing or malformed, such as an e-mail rule's ext.subject. */
export const CODE_PARAM_ERROR = "InvalidParameter.ParamError";
/** A parameter is present but its value is not acceptable. */
export const CODE_INVALID_VALUE = "InvalidParameterValue";
/** The rule delivers to the tenant's callback configs and the tenant has none. */
export const CODE_NO_CALLBACK_CONFIG = "FailedOperation.NoCallbackConfig";
/** The rule failed: the SDK rejects with it for an input it cannot read or a decision that is not valid. */
export const CODE_RULE_ERROR = "FailedOperation.RuleError";
