// abort replaces AssemblyScript's env.abort import, which the ABI does not
// allow: build with --use abort=<this file>/abort (asconfig.json does).
// An assertion, a throw, an index out of range or a null dereference logs
// its message at error level and traps; the gateway fails the callback with
// FailedOperation.RuleError and throws the instance away.

import { Level, log } from "./host";
import { decimal } from "./text";

export function abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = message !== null ? message : "abort";
  if (fileName !== null) text += " (" + fileName + ":" + decimal(line) + ":" + decimal(column) + ")";
  log(Level.Error, text);
  unreachable();
}
