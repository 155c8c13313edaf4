// Encoding the ABI's outputs, and the checks the SDK makes of a decision
// before the gateway sees it.

import { decimal } from "./text";
import { Writer } from "./writer";
import { Decision, Delivery, StringMap, Verdict, SUCCESS, RETRY, PERMANENT } from "./types";

/** Appends the decision's JSON: the rejection alone, or the deliveries. */
export function encodeDecision(w: Writer, d: Decision): void {
  let rej = d.rejection;
  if (rej !== null) {
    w.ascii("{\"reject\":{");
    w.field("code", rej.code, false);
    w.field("message", rej.message);
    w.ascii("}}");
    return;
  }
  w.ascii("{\"deliveries\":");
  encodeDeliveries(w, d.deliveries);
  w.byte(0x7D);
}

function encodeDeliveries(w: Writer, ds: Delivery[]): void {
  w.byte(0x5B);
  for (let i = 0, n = ds.length; i < n; i++) {
    if (i > 0) w.byte(0x2C);
    encodeDelivery(w, unchecked(ds[i]));
  }
  w.byte(0x5D);
}

function encodeDelivery(w: Writer, d: Delivery): void {
  w.ascii("{\"channel\":");
  w.quote(d.channel);
  optional(w, "configId", d.configId);
  optional(w, "destination", d.destination);
  optional(w, "method", d.method);
  let h = d.headers;
  if (h !== null && h.size > 0) encodeMap(w, "headers", h);
  let q = d.query;
  if (q !== null && q.size > 0) encodeMap(w, "query", q);
  optional(w, "body", d.body);
  optional(w, "bodyBase64", d.bodyBase64);
  optional(w, "subject", d.subject);
  let as = d.attachments;
  if (as !== null && as.length > 0) {
    w.key("attachments");
    w.byte(0x5B);
    for (let i = 0, n = as.length; i < n; i++) {
      let a = unchecked(as[i]);
      if (i > 0) w.byte(0x2C);
      w.byte(0x7B);
      let comma = false;
      if (a.fileName.length > 0) {
        w.field("fileName", a.fileName, false);
        comma = true;
      }
      w.field("url", a.url, comma);
      w.byte(0x7D);
    }
    w.byte(0x5D);
  }
  let rs = d.retrySchedule;
  if (rs !== null && rs.length > 0) {
    w.key("retrySchedule");
    w.byte(0x5B);
    for (let i = 0, n = rs.length; i < n; i++) {
      if (i > 0) w.byte(0x2C);
      w.int(unchecked(rs[i]));
    }
    w.byte(0x5D);
  }
  optional(w, "sign", d.sign);
  let fs = d.fallbacks;
  if (fs !== null && fs.length > 0) {
    w.key("fallbacks");
    encodeDeliveries(w, fs);
  }
  w.byte(0x7D);
}

function optional(w: Writer, name: string, value: string): void {
  if (value.length > 0) w.field(name, value);
}

function encodeMap(w: Writer, name: string, m: StringMap): void {
  w.key(name);
  w.byte(0x7B);
  for (let i = 0, n = m.size; i < n; i++) {
    if (i > 0) w.byte(0x2C);
    w.quote(m.keyAt(i));
    w.byte(0x3A);
    w.quote(m.valueAt(i));
  }
  w.byte(0x7D);
}

/** Appends the verdict's JSON. */
export function encodeVerdict(w: Writer, v: Verdict): void {
  w.byte(0x7B);
  w.field("verdict", v.verdict, false);
  w.field("reason", v.reason);
  w.byte(0x7D);
}

/**
 * Returns what the gateway would refuse in the decision, or "": a rejection
 * without a code, a delivery (or fallback) without a channel or without both
 * a config id and a destination, a negative retry delay, or an attachment
 * without a URL.
 */
export function checkDecision(d: Decision): string {
  let rej = d.rejection;
  if (rej !== null) return rej.code.length == 0 ? "reject: code is required" : "";
  return checkDeliveries("deliveries", d.deliveries);
}

function checkDeliveries(path: string, ds: Delivery[]): string {
  for (let i = 0, n = ds.length; i < n; i++) {
    let d = unchecked(ds[i]);
    let problem = "";
    if (d.channel.length == 0) problem = "channel is required";
    else if (d.configId.length == 0 && d.destination.length == 0) problem = "configId or destination is required";
    let rs = d.retrySchedule;
    if (problem.length == 0 && rs !== null) {
      for (let j = 0; j < rs.length; j++) {
        if (unchecked(rs[j]) < 0) problem = "retrySchedule has a negative delay";
      }
    }
    let as = d.attachments;
    if (problem.length == 0 && as !== null) {
      for (let j = 0; j < as.length; j++) {
        if (unchecked(as[j]).url.length == 0) {
          problem = "attachments[" + decimal(j) + "]: url is required";
          break;
        }
      }
    }
    // The path is only made when there is something to report or check.
    if (problem.length > 0) return path + "[" + decimal(i) + "]: " + problem;
    let fs = d.fallbacks;
    if (fs !== null && fs.length > 0) {
      let p = checkDeliveries(path + "[" + decimal(i) + "].fallbacks", fs);
      if (p.length > 0) return p;
    }
  }
  return "";
}

/** Returns "" for a verdict of success, retry or permanent, else what is wrong. */
export function checkVerdict(v: Verdict): string {
  let s = v.verdict;
  if (s == SUCCESS || s == RETRY || s == PERMANENT) return "";
  return "verdict \"" + s + "\" is not success, retry or permanent";
}
