;; The smallest rule: echoes its input, no imports, no classify.
(module
  (memory (export "memory") 1)
  (func (export "callgate_v1_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "callgate_v1_route") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n)))))
