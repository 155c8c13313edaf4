;; A rule whose decision is the callback's content: it finds the content in
;; the route input, decodes the JSON string and answers it as it is. The
;; tests hand it any decision, well-formed or not, to see how the gateway
;; reads it. It does not export classify.
;;
;; Decoding handles the escapes encoding/json writes for ASCII text (\" \\
;; \/ \b \f \n \r \t and \u00XX); a \u escape above U+00FF becomes '?'.
;; Without a content it answers an empty output. The contents trap, spin,
;; grow and huge make it misbehave instead (see the end of route).
;;
;; Memory: static data below 4096, the input from 4096, the output after it.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\"content\":\"")  ;; 11 bytes

  (func (export "callgate_v1_alloc") (param $n i32) (result i32)
    ;; Room for the input and, after it, an output as long.
    (block $fits
      (loop $more
        (br_if $fits (i32.le_u (i32.add (i32.const 4104) (i32.shl (local.get $n) (i32.const 1)))
                               (i32.shl (memory.size) (i32.const 16))))
        (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))
        (return (i32.const 0))))
    (i32.const 4096))

  (func $pack (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32))
            (i64.extend_i32_u (local.get $n))))

  ;; find returns the offset of needle (nd, nn) in haystack (h, hn), or -1.
  (func $find (param $h i32) (param $hn i32) (param $nd i32) (param $nn i32) (result i32)
    (local $i i32) (local $j i32)
    (block $none
      (loop $outer
        (br_if $none (i32.gt_u (i32.add (local.get $i) (local.get $nn)) (local.get $hn)))
        (local.set $j (i32.const 0))
        (block $mismatch
          (loop $inner
            (if (i32.eq (local.get $j) (local.get $nn)) (then (return (local.get $i))))
            (br_if $mismatch
              (i32.ne (i32.load8_u (i32.add (local.get $h) (i32.add (local.get $i) (local.get $j))))
                      (i32.load8_u (i32.add (local.get $nd) (local.get $j)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (i32.const -1))

  ;; hex returns the value of a hex digit (0 for anything else).
  (func $hex (param $c i32) (result i32)
    (if (i32.and (i32.ge_u (local.get $c) (i32.const 0x30)) (i32.le_u (local.get $c) (i32.const 0x39)))
      (then (return (i32.sub (local.get $c) (i32.const 0x30)))))
    (if (i32.and (i32.ge_u (local.get $c) (i32.const 0x61)) (i32.le_u (local.get $c) (i32.const 0x66)))
      (then (return (i32.sub (local.get $c) (i32.const 0x57)))))
    (if (i32.and (i32.ge_u (local.get $c) (i32.const 0x41)) (i32.le_u (local.get $c) (i32.const 0x46)))
      (then (return (i32.sub (local.get $c) (i32.const 0x37)))))
    (i32.const 0))

  (func (export "callgate_v1_route") (param $p i32) (param $n i32) (result i64)
    (local $at i32) (local $s i32) (local $end i32) (local $out i32) (local $start i32) (local $c i32) (local $v i32)
    (local.set $at (call $find (local.get $p) (local.get $n) (i32.const 0) (i32.const 11)))
    (if (i32.lt_s (local.get $at) (i32.const 0)) (then (return (i64.const 0))))
    (local.set $s (i32.add (local.get $p) (i32.add (local.get $at) (i32.const 11))))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (local.set $start (i32.and (i32.add (local.get $end) (i32.const 7)) (i32.const -8)))
    (local.set $out (local.get $start))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $s) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $s)))
        (br_if $done (i32.eq (local.get $c) (i32.const 0x22)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (if (i32.eq (local.get $c) (i32.const 0x5c)) (then
          (local.set $c (i32.load8_u (local.get $s)))
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          (if (i32.eq (local.get $c) (i32.const 0x62)) (then (local.set $c (i32.const 0x08))))
          (if (i32.eq (local.get $c) (i32.const 0x66)) (then (local.set $c (i32.const 0x0c))))
          (if (i32.eq (local.get $c) (i32.const 0x6e)) (then (local.set $c (i32.const 0x0a))))
          (if (i32.eq (local.get $c) (i32.const 0x72)) (then (local.set $c (i32.const 0x0d))))
          (if (i32.eq (local.get $c) (i32.const 0x74)) (then (local.set $c (i32.const 0x09))))
          (if (i32.eq (local.get $c) (i32.const 0x75)) (then
            (local.set $v (i32.or
              (i32.shl (call $hex (i32.load8_u (local.get $s))) (i32.const 12))
              (i32.or (i32.shl (call $hex (i32.load8_u (i32.add (local.get $s) (i32.const 1)))) (i32.const 8))
                (i32.or (i32.shl (call $hex (i32.load8_u (i32.add (local.get $s) (i32.const 2)))) (i32.const 4))
                        (call $hex (i32.load8_u (i32.add (local.get $s) (i32.const 3))))))))
            (local.set $s (i32.add (local.get $s) (i32.const 4)))
            (local.set $c (select (local.get $v) (i32.const 0x3f) (i32.le_u (local.get $v) (i32.const 0xff))))))))
        (i32.store8 (local.get $out) (local.get $c))
        (local.set $out (i32.add (local.get $out) (i32.const 1)))
        (br $bytes)))
    ;; Four contents misbehave instead: trap, spin (forever), grow (memory
    ;; until it cannot, then trap) and huge (2 MiB of output).
    (if (i32.eq (i32.sub (local.get $out) (local.get $start)) (i32.const 4)) (then
      (local.set $v (i32.load (local.get $start)))
      (if (i32.eq (local.get $v) (i32.const 0x70617274)) (then (unreachable)))
      (if (i32.eq (local.get $v) (i32.const 0x6e697073)) (then (loop $spin (br $spin))))
      (if (i32.eq (local.get $v) (i32.const 0x776f7267)) (then
        (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 64)) (i32.const -1))))
        (unreachable)))
      (if (i32.eq (local.get $v) (i32.const 0x65677568)) (then
        (drop (memory.grow (i32.const 40)))
        (return (call $pack (i32.const 0) (i32.const 0x200000)))))))
    (call $pack (local.get $start) (i32.sub (local.get $out) (local.get $start))))
)
