;; A rule that would be fine except that it imports a function the rule ABI
;; does not offer: PutRule must refuse it.
(module
  (import "env" "http_get" (func $get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "callgate_v1_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "callgate_v1_route") (param $p i32) (param $n i32) (result i64)
    (drop (call $get (local.get $p) (local.get $n)))
    (i64.const 0)))
