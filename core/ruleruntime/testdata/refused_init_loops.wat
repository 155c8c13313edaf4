(module
  (memory (export "memory") 1)
  (func (export "_initialize") (loop $l (br $l)))
  (func (export "callgate_v1_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "callgate_v1_route") (param i32 i32) (result i64) (i64.const 0)))
