;; No global, export or type-section help: the rewrite must add sections.
(module
  (memory 1)
  (func $f (i32.store (i32.const 0) (i32.const 42)))
  (start $f))
