;; Programs whose results must not change when the module is metered.
(module
  (type $bin (func (param i32 i32) (result i32)))
  (memory (export "memory") 1 4)
  (global $counter (mut i32) (i32.const 0))
  (global $k (export "k") i64 (i64.const 7))
  (table 3 funcref)
  (elem (i32.const 0) $add $sub $mul)
  (data (i32.const 16) "hello")
  (data $passive "world")

  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (type $bin) (i32.mul (local.get 0) (local.get 1)))

  (start $init)
  (func $init (global.set $counter (i32.const 10)))

  ;; A loop, a block and br_if.
  (func (export "fact") (param $n i64) (result i64)
    (local $acc i64)
    (local.set $acc (i64.const 1))
    (block $done
      (loop $l
        (br_if $done (i64.le_s (local.get $n) (i64.const 1)))
        (local.set $acc (i64.mul (local.get $acc) (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $l)))
    (local.get $acc))

  ;; Recursion and if/else with a result.
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; br_table, return from nested blocks and a branch to the function label.
  (func (export "switch") (param $x i32) (result i32)
    (block $default
      (block $two
        (block $one
          (block $zero
            (br_table $zero $one $two $default (local.get $x)))
          (return (i32.const 100)))
        (return (i32.const 200)))
      (i32.const 300)
      (br 1))
    (i32.const 400))

  ;; call_indirect through the table.
  (func (export "apply") (param $f i32) (param $a i32) (param $b i32) (result i32)
    (call_indirect (type $bin) (local.get $a) (local.get $b) (local.get $f)))

  ;; Multiple results, and a block that takes params.
  (func $divmod (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_u (local.get 0) (local.get 1))
    (i32.rem_u (local.get 0) (local.get 1)))
  (func (export "divmod_early") (param i32 i32) (result i32 i32)
    (if (i32.eqz (local.get 1)) (then (return (i32.const -1) (i32.const -1))))
    (call $divmod (local.get 0) (local.get 1)))
  (func (export "blockparams") (param i32 i32) (result i32)
    (local.get 0) (local.get 1)
    (block (param i32 i32) (result i32) (i32.sub)))

  ;; A loop with a param, leaving through br_if to the function label.
  (func (export "sumdown") (param $n i32) (result i32)
    (local $acc i32)
    (local.get $n)
    (loop $l (param i32) (result i32)
      (local.set $n)
      (local.set $acc (i32.add (local.get $acc) (local.get $n)))
      (local.get $acc)
      (br_if 1 (i32.eqz (local.get $n)))
      (drop)
      (i32.sub (local.get $n) (i32.const 1))
      (br $l)))

  ;; Bulk memory and memory.grow.
  (func (export "mem") (result i32)
    (drop (memory.grow (i32.const 1)))
    (memory.fill (i32.const 100) (i32.const 7) (i32.const 10))
    (memory.copy (i32.const 200) (i32.const 100) (i32.const 10))
    (memory.init $passive (i32.const 300) (i32.const 0) (i32.const 5))
    (data.drop $passive)
    (i32.add (i32.add (memory.size) (i32.load8_u (i32.const 209)))
             (i32.load8_u (i32.const 304))))
  (func (export "growfail") (result i32) (memory.grow (i32.const 100)))

  ;; SIMD.
  (func (export "simd") (result i32)
    (i32x4.extract_lane 2 (i32x4.add (v128.const i32x4 1 2 3 4) (v128.const i32x4 10 20 30 40))))
  (func (export "simdmem") (result i32)
    (v128.store (i32.const 32) (v128.const i8x16 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16))
    (i32.add
      (i8x16.extract_lane_u 0 (v128.load8_lane 0 (i32.const 33) (v128.const i64x2 0 0)))
      (i8x16.extract_lane_u 0
        (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0
          (v128.load (i32.const 32)) (v128.const i64x2 0 0)))))

  ;; Sign extension, saturating truncation, floats.
  (func (export "misc") (result i32)
    (i32.add (i32.extend8_s (i32.const 0xff))
             (i32.trunc_sat_f32_s (f32.const 1e20))))
  (func (export "floats") (param f64) (result f64)
    (f64.mul (local.get 0) (f64.const 2.5)))

  ;; Reference types, typed select, tables.
  (func (export "refs") (result i32)
    (i32.add (i32.add (ref.is_null (ref.null func)) (ref.is_null (ref.func $add)))
             (table.size 0)))
  (func (export "selt") (param i32) (result i64)
    (select (result i64) (i64.const 1) (i64.const 2) (local.get 0)))

  ;; Globals keep their indices.
  (func (export "bump") (result i32)
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.add (global.get $counter) (i32.wrap_i64 (global.get $k))))

  ;; Memory written by active data.
  (func (export "data") (result i32) (i32.load8_u (i32.const 17)))

  ;; Runaways, for the budgets.
  (func (export "spin") (loop $l (br $l)))
  (func $down (export "down") (param i32) (result i32)
    (call $down (i32.add (local.get 0) (i32.const 1))))
)
