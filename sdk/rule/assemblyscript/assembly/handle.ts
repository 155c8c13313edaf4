// The rule's functions, and how the SDK calls them.

import { checkDecision, checkVerdict } from "./encode";
import { decimal } from "./text";
import { ABI_VERSION, Answer, CODE_RULE_ERROR, Decision, Input, Verdict, reject } from "./types";

/** Decides where a callback goes: deliveries, or a rejection made with reject(). */
export type RouteFunc = (input: Input) => Decision;

/** Judges a receiver's answer to a delivery. */
export type ClassifyFunc = (answer: Answer) => Verdict;

// The functions the exports call, set from the rule's top level.
let routeFunc: RouteFunc | null = null;
let classifyFunc: ClassifyFunc = defaultClassify;

/**
 * Registers the rule's route function, the one callgate_v1_route calls.
 * Call it from the rule's top level, which runs once per instance before
 * the gateway's first call.
 */
export function handle(route: RouteFunc): void {
  routeFunc = route;
}

/**
 * Registers the rule's classify function, the one callgate_v1_classify
 * calls. Without one the SDK classifies with defaultClassify, as the
 * gateway does for a rule without a classify export.
 */
export function handleClassify(classify: ClassifyFunc): void {
  classifyFunc = classify;
}

/** Any 2xx status is a success; anything else is retried. */
export function defaultClassify(a: Answer): Verdict {
  if (a.statusCode >= 200 && a.statusCode <= 299) return Verdict.success();
  return Verdict.retry("status " + decimal(a.statusCode));
}

/** A rejection with CODE_RULE_ERROR: the rule failed. */
export function ruleError(message: string): Decision {
  return reject(CODE_RULE_ERROR, message);
}

/**
 * Calls the route function the way callgate_v1_route does and returns what
 * the gateway gets: the decision, or a CODE_RULE_ERROR rejection for an
 * input of another ABI version or a decision that is not valid.
 */
export function decide(input: Input): Decision {
  let route = routeFunc;
  if (route === null) return ruleError("no route function: call handle(route) at the top level of the rule");
  if (input.abi != 0 && input.abi != ABI_VERSION) {
    return ruleError("input has ABI version " + decimal(input.abi) + ", the rule speaks 1");
  }
  let d = route(input);
  let problem = checkDecision(d);
  if (problem.length > 0) return ruleError("invalid decision: " + problem);
  return d;
}

/**
 * Calls the classify function the way callgate_v1_classify does. A verdict
 * other than success, retry or permanent is a retry that says why:
 * retrying never loses a delivery.
 */
export function judge(a: Answer): Verdict {
  let v = classifyFunc(a);
  let problem = checkVerdict(v);
  if (problem.length > 0) return Verdict.retry("invalid verdict: " + problem);
  return v;
}
