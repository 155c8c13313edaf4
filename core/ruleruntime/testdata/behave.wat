;; A rule that misbehaves (or works) on demand: the first byte of the input picks what
;; callgate_v1_route does. The allocator always answers 1024, growing memory
;; to fit, except for inputs of 13 bytes (it answers 0, out of memory) and 14
;; bytes (it answers a pointer outside memory).
(module
  (import "callgate_v1" "log" (func $log (param i32 i32 i32)))
  (import "callgate_v1" "now_ms" (func $now (result i64)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (global $inits (mut i32) (i32.const 0))
  (data (i32.const 0) "etc/passwd")
  (data (i32.const 16) "hello stdout\n")
  (data (i32.const 32) "hello stderr")
  (data (i32.const 48) "{\"verdict\":\"success\",\"reason\":\"\"}")

  (func (export "_initialize")
    (global.set $inits (i32.add (global.get $inits) (i32.const 1))))

  (func (export "callgate_v1_alloc") (param $n i32) (result i32)
    (if (i32.eq (local.get $n) (i32.const 13)) (then (return (i32.const 0))))
    (if (i32.eq (local.get $n) (i32.const 14)) (then (return (i32.const 0xffffff00))))
    (block $fits
      (loop $more
        (br_if $fits (i32.le_u (i32.add (i32.const 1024) (local.get $n))
                               (i32.shl (memory.size) (i32.const 16))))
        (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))
        (return (i32.const 0))))
    (i32.const 1024))

  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n))))

  (func $recurse (param i64) (result i64)
    (i64.add (call $recurse (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))

  (func $depth (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (call $depth (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))))

  (func (export "callgate_v1_route") (param $p i32) (param $n i32) (result i64)
    (local $op i32) (local $i i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.eqz (local.get $n)) (then (return (call $pack (i32.const 0) (i32.const 0)))))
    (local.set $op (i32.load8_u (local.get $p)))
    ;; e: echo, logging the input at info
    (if (i32.eq (local.get $op) (i32.const 0x65)) (then
      (call $log (i32.const 1) (local.get $p) (local.get $n))
      (return (call $pack (local.get $p) (local.get $n)))))
    ;; n: calls and _initialize runs so far in this instance, one byte each
    (if (i32.eq (local.get $op) (i32.const 0x6e)) (then
      (i32.store8 (i32.const 100) (global.get $calls))
      (i32.store8 (i32.const 101) (global.get $inits))
      (return (call $pack (i32.const 100) (i32.const 2)))))
    ;; c: now_ms, 8 bytes little endian
    (if (i32.eq (local.get $op) (i32.const 0x63)) (then
      (i64.store (i32.const 100) (call $now))
      (return (call $pack (i32.const 100) (i32.const 8)))))
    ;; l: endless loop
    (if (i32.eq (local.get $op) (i32.const 0x6c)) (then (loop $spin (br $spin))))
    ;; r: endless recursion
    (if (i32.eq (local.get $op) (i32.const 0x72)) (then
      (drop (call $recurse (i64.const 0)))))
    ;; d: recursion 10000 deep, then echo
    (if (i32.eq (local.get $op) (i32.const 0x64)) (then
      (drop (call $depth (i32.const 10000)))
      (return (call $pack (local.get $p) (local.get $n)))))
    ;; g: grow memory until it fails, then trap
    (if (i32.eq (local.get $op) (i32.const 0x67)) (then
      (loop $bomb (br_if $bomb (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
      (unreachable)))
    ;; t: trap
    (if (i32.eq (local.get $op) (i32.const 0x74)) (then (unreachable)))
    ;; z: integer division by zero
    (if (i32.eq (local.get $op) (i32.const 0x7a)) (then
      (drop (i32.div_s (i32.const 1) (i32.sub (local.get $n) (local.get $n))))))
    ;; p: output outside memory
    (if (i32.eq (local.get $op) (i32.const 0x70)) (then
      (return (call $pack (i32.const 0xffff0000) (i32.const 16)))))
    ;; h: 2 MiB of output
    (if (i32.eq (local.get $op) (i32.const 0x68)) (then
      (drop (memory.grow (i32.const 40)))
      (return (call $pack (i32.const 0) (i32.const 0x200000)))))
    ;; L: log the input 150 times at warn
    (if (i32.eq (local.get $op) (i32.const 0x4c)) (then
      (loop $lines
        (call $log (i32.const 2) (local.get $p) (local.get $n))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $lines (i32.lt_u (local.get $i) (i32.const 150))))
      (return (call $pack (i32.const 0) (i32.const 0)))))
    ;; B: log from outside memory
    (if (i32.eq (local.get $op) (i32.const 0x42)) (then
      (call $log (i32.const 0) (i32.const 0xfffffff0) (i32.const 100))))
    ;; o: a line on stdout and a partial one on stderr, through WASI
    (if (i32.eq (local.get $op) (i32.const 0x6f)) (then
      (i32.store (i32.const 200) (i32.const 16))
      (i32.store (i32.const 204) (i32.const 13))
      (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))
      (i32.store (i32.const 216) (i32.const 32))
      (i32.store (i32.const 220) (i32.const 12))
      (drop (call $fd_write (i32.const 2) (i32.const 216) (i32.const 1) (i32.const 224)))
      (return (call $pack (i32.const 0) (i32.const 0)))))
    ;; f: errnos of fd_prestat_get(3) and path_open(3, "etc/passwd")
    (if (i32.eq (local.get $op) (i32.const 0x66)) (then
      (i32.store8 (i32.const 300) (call $prestat (i32.const 3) (i32.const 400)))
      (i32.store8 (i32.const 301)
        (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 10)
                         (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 404)))
      (return (call $pack (i32.const 300) (i32.const 2)))))
    ;; x: proc_exit(3)
    (if (i32.eq (local.get $op) (i32.const 0x78)) (then (call $exit (i32.const 3))))
    ;; s: a busy loop of a million iterations, then echo
    (if (i32.eq (local.get $op) (i32.const 0x73)) (then
      (loop $busy
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $busy (i32.lt_u (local.get $i) (i32.const 1000000))))
      (return (call $pack (local.get $p) (local.get $n)))))
    ;; k: a hundred thousand calls, then echo
    (if (i32.eq (local.get $op) (i32.const 0x6b)) (then
      (loop $calls
        (local.set $i (i32.add (call $depth (i32.const 0)) (i32.add (local.get $i) (i32.const 1))))
        (br_if $calls (i32.lt_u (local.get $i) (i32.const 100000))))
      (return (call $pack (local.get $p) (local.get $n)))))
    ;; anything else: echo
    (call $pack (local.get $p) (local.get $n)))

  (func (export "callgate_v1_classify") (param $p i32) (param $n i32) (result i64)
    (call $pack (i32.const 48) (i32.const 33)))
)
