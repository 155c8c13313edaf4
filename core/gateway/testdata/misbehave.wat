;; A rule that behaves until the callback asks it not to. It scans its input
;; (the route input JSON, content included) for a marker:
;;
;;   CG_LOOP  loops forever                      -> ran out of time
;;   CG_BOMB  grows memory until it cannot, traps -> ran out of memory
;;   CG_TRAP  executes unreachable               -> trapped
;;   CG_HUGE  answers 2 MiB of output            -> more than the output limit
;;
;; Without a marker it sends the content to the tenant's first callback
;; config with the header X-Rule: misbehave, or rejects with
;; FailedOperation.NoCallbackConfig when there is none (so that PutRule's
;; sample run, which has no marker, passes either way). The content is
;; copied as the JSON string it is in the input, escapes and all, so the
;; rule never decodes JSON.
;;
;; Memory: static data below 1024, the input from 4096, the output after
;; the input.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\"configs\":[{\"id\":\"")          ;; 18 bytes
  (data (i32.const 32) "CG_LOOP")
  (data (i32.const 40) "CG_BOMB")
  (data (i32.const 48) "CG_TRAP")
  (data (i32.const 56) "CG_HUGE")
  (data (i32.const 64)
    "{\"deliveries\":[{\"channel\":\"http\",\"headers\":{\"X-Rule\":\"misbehave\"},\"configId\":\"") ;; 78 bytes
  (data (i32.const 160) "\"content\":\"")                   ;; 11 bytes
  (data (i32.const 192) "\",\"body\":\"")                     ;; 10 bytes
  (data (i32.const 256) "\"}]}")                          ;; 4 bytes
  (data (i32.const 320)
    "{\"reject\":{\"code\":\"FailedOperation.NoCallbackConfig\",\"message\":\"misbehave: the tenant has no callback config\"}}") ;; 111 bytes

  ;; The input always goes at 4096; memory grows to fit it.
  (func (export "callgate_v1_alloc") (param $n i32) (result i32)
    (block $fits
      (loop $more
        (br_if $fits (i32.le_u (i32.add (i32.const 4096) (local.get $n))
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

  (func $has (param $p i32) (param $n i32) (param $marker i32) (result i32)
    (i32.ge_s (call $find (local.get $p) (local.get $n) (local.get $marker) (i32.const 7)) (i32.const 0)))

  (func $copy (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32)
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.add (local.get $dst) (local.get $i))
                    (i32.load8_u (i32.add (local.get $src) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes))))

  (func (export "callgate_v1_route") (param $p i32) (param $n i32) (result i64)
    (local $at i32) (local $src i32) (local $end i32) (local $out i32) (local $start i32)
    (if (call $has (local.get $p) (local.get $n) (i32.const 32)) (then
      (loop $spin (br $spin))))
    (if (call $has (local.get $p) (local.get $n) (i32.const 40)) (then
      ;; 4 MiB at a time: page by page, the copying would make a slow
      ;; machine run out of time first.
      (loop $bomb (br_if $bomb (i32.ne (memory.grow (i32.const 64)) (i32.const -1))))
      (unreachable)))
    (if (call $has (local.get $p) (local.get $n) (i32.const 48)) (then
      (unreachable)))
    (if (call $has (local.get $p) (local.get $n) (i32.const 56)) (then
      (drop (memory.grow (i32.const 40)))
      (return (call $pack (i32.const 0) (i32.const 0x200000)))))

    (local.set $at (call $find (local.get $p) (local.get $n) (i32.const 0) (i32.const 18)))
    (if (i32.lt_s (local.get $at) (i32.const 0)) (then
      (return (call $pack (i32.const 320) (i32.const 111)))))
    ;; The output, at most the input's size and 1 KiB, goes after the input.
    (local.set $out (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (block $fits
      (loop $more
        (br_if $fits (i32.le_u (i32.add (local.get $out) (i32.add (local.get $n) (i32.const 1024)))
                               (i32.shl (memory.size) (i32.const 16))))
        (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))
        (unreachable)))
    (local.set $start (local.get $out))
    (call $copy (local.get $out) (i32.const 64) (i32.const 78))
    (local.set $out (i32.add (local.get $out) (i32.const 78)))
    ;; The config id runs from after the needle to the next quote, at most
    ;; 512 bytes.
    (local.set $src (i32.add (local.get $p) (i32.add (local.get $at) (i32.const 18))))
    (local.set $end (call $stringEnd (local.get $src) (i32.add (local.get $p) (local.get $n))))
    (if (i32.gt_u (i32.sub (local.get $end) (local.get $src)) (i32.const 512)) (then (unreachable)))
    (local.set $out (call $append (local.get $out) (local.get $src) (local.get $end)))
    (call $copy (local.get $out) (i32.const 192) (i32.const 10))
    (local.set $out (i32.add (local.get $out) (i32.const 10)))
    ;; The content, still a JSON string.
    (local.set $at (call $find (local.get $p) (local.get $n) (i32.const 160) (i32.const 11)))
    (if (i32.ge_s (local.get $at) (i32.const 0)) (then
      (local.set $src (i32.add (local.get $p) (i32.add (local.get $at) (i32.const 11))))
      (local.set $end (call $stringEnd (local.get $src) (i32.add (local.get $p) (local.get $n))))
      (local.set $out (call $append (local.get $out) (local.get $src) (local.get $end)))))
    (call $copy (local.get $out) (i32.const 256) (i32.const 4))
    (local.set $out (i32.add (local.get $out) (i32.const 4)))
    (call $pack (local.get $start) (i32.sub (local.get $out) (local.get $start))))

  ;; stringEnd returns where the JSON string starting at $s (after its
  ;; opening quote) ends: its closing quote, or $limit.
  (func $stringEnd (param $s i32) (param $limit i32) (result i32)
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $s) (local.get $limit)))
        (br_if $done (i32.eq (i32.load8_u (local.get $s)) (i32.const 0x22)))
        (if (i32.eq (i32.load8_u (local.get $s)) (i32.const 0x5c)) (then
          (local.set $s (i32.add (local.get $s) (i32.const 1)))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $bytes)))
    (local.get $s))

  ;; append copies [$src, $end) to $out and returns the new end of the output.
  (func $append (param $out i32) (param $src i32) (param $end i32) (result i32)
    (call $copy (local.get $out) (local.get $src) (i32.sub (local.get $end) (local.get $src)))
    (i32.add (local.get $out) (i32.sub (local.get $end) (local.get $src))))
)
