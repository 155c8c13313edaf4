;; A rule that always rejects with FailedOperation.Other: a second, distinct
;; module, for tests that need one rule version to tell from another.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"reject\":{\"code\":\"FailedOperation.Other\",\"message\":\"the other rule\"}}")
  (func (export "callgate_v1_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "callgate_v1_route") (param i32 i32) (result i64)
    (i64.const 70)))
