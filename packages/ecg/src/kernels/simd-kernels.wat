;; WebAssembly SIMD kernels for the hot loops of prepare(), the quality gate, the drift monitor's input statistics,
;; the finiteness check, the DICOM decoder, the payload encoder and the FHIR writer's SampledData text. The source of truth: packages/ecg/scripts/build-kernels.mjs assembles this file
;; with wabt into dist/kernels/simd-kernels.wasm, which ../simd-kernels.ts loads (and documents: memory layout,
;; callers).
;;
;; Every kernel computes exactly what its JavaScript counterpart computes, lane by lane, in the same order, in
;; float64 without fused multiply-adds, so the results are bit-identical (simd-kernels.test.ts and the callers'
;; tests compare them). Addresses are byte offsets into the one exported memory; the caller keeps its rows there.
;;
;; Loops are counted: `count` steps, skipped when count is 0, pointers advanced at the end of each step:
;;   (block $done (br_if $done (i32.eqz count)) (loop $step ... (br_if $step (local.tee count (count - 1)))))
(module
  (memory (export "memory") 1)

  ;; --- Zero-phase filter: three fused symmetric second-order sections (numerator 1, b1, 1). ---
  ;;
  ;; filter.ts's runSymmetric, per section and sample, with the section's input x and output y:
  ;;   y = (x + z1) - a1 * y[n-1];   z1 = b1 * x + z2;   z2 = x - a2 * y
  ;; the output of one section being the input of the next. A vector carries two leads (lanes), each at its own
  ;; address; one section's recursion is bound by the latency of its multiply and subtract, so biquads2 runs two
  ;; vectors (four leads) section by section across them, and the independent vectors hide each other's latency.
  ;;
  ;; biquads1 / biquads2 (pairs, odd, step): 2 pairs + odd samples per lead, two samples per step (measured
  ;; 1.05x against one), forward (step +16 bytes) or backward (-16), the second sample of a step half a step on.
  ;; Their other inputs lie at fixed addresses (SimdKernels in ../simd-kernels.ts writes them there):
  ;; - byte 0: i32 address of each lead's first sample (2 or 4 of them);
  ;; - byte 64: f64 [b1, a1, a2] of sections 1, 2 and 3 (9 values);
  ;; - byte 256: per vector, f64x2 start states z1 and z2 of sections 1, 2, 3 (lane 0 for the first lead).
  ;; Every y[n-1] starts at 0. (Passing these three addresses as parameters instead measured 5-10 % slower on
  ;; this kernel, Node 20, same loop; the other kernels take theirs as parameters at no measured cost.)

  (func (export "biquads1")
    (param $pairs i32) (param $odd i32) (param $step i32)
    (local $half i32)
    ;; lane pointers: the current sample, and the next one half a step on
    (local $p0 i32) (local $p1 i32) (local $q0 i32) (local $q1 i32)
    ;; coefficients, splat over both lanes
    (local $b1_1 v128) (local $a1_1 v128) (local $a2_1 v128)
    (local $b1_2 v128) (local $a1_2 v128) (local $a2_2 v128)
    (local $b1_3 v128) (local $a1_3 v128) (local $a2_3 v128)
    ;; the input and each section's z1, z2 and y (which holds y[n-1] until it is set)
    (local $x v128)
    (local $z1_1 v128) (local $z2_1 v128) (local $y_1 v128)
    (local $z1_2 v128) (local $z2_2 v128) (local $y_2 v128)
    (local $z1_3 v128) (local $z2_3 v128) (local $y_3 v128)
    (local.set $half (i32.shr_s (local.get $step) (i32.const 1)))
    ;; lane pointers at byte 0, coefficients at 64, start states at 256
    (local.set $p0 (i32.load (i32.const 0)))
    (local.set $p1 (i32.load (i32.const 4)))
    (local.set $b1_1 (v128.load64_splat (i32.const 64)))
    (local.set $a1_1 (v128.load64_splat (i32.const 72)))
    (local.set $a2_1 (v128.load64_splat (i32.const 80)))
    (local.set $b1_2 (v128.load64_splat (i32.const 88)))
    (local.set $a1_2 (v128.load64_splat (i32.const 96)))
    (local.set $a2_2 (v128.load64_splat (i32.const 104)))
    (local.set $b1_3 (v128.load64_splat (i32.const 112)))
    (local.set $a1_3 (v128.load64_splat (i32.const 120)))
    (local.set $a2_3 (v128.load64_splat (i32.const 128)))
    (local.set $z1_1 (v128.load (i32.const 256)))
    (local.set $z2_1 (v128.load (i32.const 272)))
    (local.set $z1_2 (v128.load (i32.const 288)))
    (local.set $z2_2 (v128.load (i32.const 304)))
    (local.set $z1_3 (v128.load (i32.const 320)))
    (local.set $z2_3 (v128.load (i32.const 336)))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $step
        ;; sample n at p
        (local.set $x (v128.load64_lane 1 (local.get $p1) (v128.load64_zero (local.get $p0))))
        (local.set $y_1 (f64x2.sub (f64x2.add (local.get $x) (local.get $z1_1)) (f64x2.mul (local.get $a1_1) (local.get $y_1))))
        (local.set $z1_1 (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $x)) (local.get $z2_1)))
        (local.set $z2_1 (f64x2.sub (local.get $x) (f64x2.mul (local.get $a2_1) (local.get $y_1))))
        (local.set $y_2 (f64x2.sub (f64x2.add (local.get $y_1) (local.get $z1_2)) (f64x2.mul (local.get $a1_2) (local.get $y_2))))
        (local.set $z1_2 (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1)) (local.get $z2_2)))
        (local.set $z2_2 (f64x2.sub (local.get $y_1) (f64x2.mul (local.get $a2_2) (local.get $y_2))))
        (local.set $y_3 (f64x2.sub (f64x2.add (local.get $y_2) (local.get $z1_3)) (f64x2.mul (local.get $a1_3) (local.get $y_3))))
        (local.set $z1_3 (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2)) (local.get $z2_3)))
        (local.set $z2_3 (f64x2.sub (local.get $y_2) (f64x2.mul (local.get $a2_3) (local.get $y_3))))
        (v128.store64_lane 0 (local.get $p0) (local.get $y_3))
        (v128.store64_lane 1 (local.get $p1) (local.get $y_3))
        ;; sample n + 1 at q, half a step on
        (local.set $q0 (i32.add (local.get $p0) (local.get $half)))
        (local.set $q1 (i32.add (local.get $p1) (local.get $half)))
        (local.set $x (v128.load64_lane 1 (local.get $q1) (v128.load64_zero (local.get $q0))))
        (local.set $y_1 (f64x2.sub (f64x2.add (local.get $x) (local.get $z1_1)) (f64x2.mul (local.get $a1_1) (local.get $y_1))))
        (local.set $z1_1 (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $x)) (local.get $z2_1)))
        (local.set $z2_1 (f64x2.sub (local.get $x) (f64x2.mul (local.get $a2_1) (local.get $y_1))))
        (local.set $y_2 (f64x2.sub (f64x2.add (local.get $y_1) (local.get $z1_2)) (f64x2.mul (local.get $a1_2) (local.get $y_2))))
        (local.set $z1_2 (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1)) (local.get $z2_2)))
        (local.set $z2_2 (f64x2.sub (local.get $y_1) (f64x2.mul (local.get $a2_2) (local.get $y_2))))
        (local.set $y_3 (f64x2.sub (f64x2.add (local.get $y_2) (local.get $z1_3)) (f64x2.mul (local.get $a1_3) (local.get $y_3))))
        (local.set $z1_3 (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2)) (local.get $z2_3)))
        (local.set $z2_3 (f64x2.sub (local.get $y_2) (f64x2.mul (local.get $a2_3) (local.get $y_3))))
        (v128.store64_lane 0 (local.get $q0) (local.get $y_3))
        (v128.store64_lane 1 (local.get $q1) (local.get $y_3))
        (local.set $p0 (i32.add (local.get $p0) (local.get $step)))
        (local.set $p1 (i32.add (local.get $p1) (local.get $step)))
        (br_if $step (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1))))))
    ;; the odd sample out, at p
    (if (local.get $odd)
      (then
        (local.set $x (v128.load64_lane 1 (local.get $p1) (v128.load64_zero (local.get $p0))))
        (local.set $y_1 (f64x2.sub (f64x2.add (local.get $x) (local.get $z1_1)) (f64x2.mul (local.get $a1_1) (local.get $y_1))))
        (local.set $z1_1 (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $x)) (local.get $z2_1)))
        (local.set $z2_1 (f64x2.sub (local.get $x) (f64x2.mul (local.get $a2_1) (local.get $y_1))))
        (local.set $y_2 (f64x2.sub (f64x2.add (local.get $y_1) (local.get $z1_2)) (f64x2.mul (local.get $a1_2) (local.get $y_2))))
        (local.set $z1_2 (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1)) (local.get $z2_2)))
        (local.set $z2_2 (f64x2.sub (local.get $y_1) (f64x2.mul (local.get $a2_2) (local.get $y_2))))
        (local.set $y_3 (f64x2.sub (f64x2.add (local.get $y_2) (local.get $z1_3)) (f64x2.mul (local.get $a1_3) (local.get $y_3))))
        (local.set $z1_3 (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2)) (local.get $z2_3)))
        (local.set $z2_3 (f64x2.sub (local.get $y_2) (f64x2.mul (local.get $a2_3) (local.get $y_3))))
        (v128.store64_lane 0 (local.get $p0) (local.get $y_3))
        (v128.store64_lane 1 (local.get $p1) (local.get $y_3)))))

  ;; biquads1 over two vectors (leads 0 and 1 in vector A, 2 and 3 in vector B), section by section across them.
  (func (export "biquads2")
    (param $pairs i32) (param $odd i32) (param $step i32)
    (local $half i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32)
    (local $b1_1 v128) (local $a1_1 v128) (local $a2_1 v128)
    (local $b1_2 v128) (local $a1_2 v128) (local $a2_2 v128)
    (local $b1_3 v128) (local $a1_3 v128) (local $a2_3 v128)
    (local $xA v128)
    (local $z1_1A v128) (local $z2_1A v128) (local $y_1A v128)
    (local $z1_2A v128) (local $z2_2A v128) (local $y_2A v128)
    (local $z1_3A v128) (local $z2_3A v128) (local $y_3A v128)
    (local $xB v128)
    (local $z1_1B v128) (local $z2_1B v128) (local $y_1B v128)
    (local $z1_2B v128) (local $z2_2B v128) (local $y_2B v128)
    (local $z1_3B v128) (local $z2_3B v128) (local $y_3B v128)
    (local.set $half (i32.shr_s (local.get $step) (i32.const 1)))
    ;; lane pointers at byte 0, coefficients at 64, start states at 256
    (local.set $p0 (i32.load (i32.const 0)))
    (local.set $p1 (i32.load (i32.const 4)))
    (local.set $p2 (i32.load (i32.const 8)))
    (local.set $p3 (i32.load (i32.const 12)))
    (local.set $b1_1 (v128.load64_splat (i32.const 64)))
    (local.set $a1_1 (v128.load64_splat (i32.const 72)))
    (local.set $a2_1 (v128.load64_splat (i32.const 80)))
    (local.set $b1_2 (v128.load64_splat (i32.const 88)))
    (local.set $a1_2 (v128.load64_splat (i32.const 96)))
    (local.set $a2_2 (v128.load64_splat (i32.const 104)))
    (local.set $b1_3 (v128.load64_splat (i32.const 112)))
    (local.set $a1_3 (v128.load64_splat (i32.const 120)))
    (local.set $a2_3 (v128.load64_splat (i32.const 128)))
    (local.set $z1_1A (v128.load (i32.const 256)))
    (local.set $z2_1A (v128.load (i32.const 272)))
    (local.set $z1_2A (v128.load (i32.const 288)))
    (local.set $z2_2A (v128.load (i32.const 304)))
    (local.set $z1_3A (v128.load (i32.const 320)))
    (local.set $z2_3A (v128.load (i32.const 336)))
    (local.set $z1_1B (v128.load (i32.const 352)))
    (local.set $z2_1B (v128.load (i32.const 368)))
    (local.set $z1_2B (v128.load (i32.const 384)))
    (local.set $z2_2B (v128.load (i32.const 400)))
    (local.set $z1_3B (v128.load (i32.const 416)))
    (local.set $z2_3B (v128.load (i32.const 432)))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $step
        ;; sample n at p
        (local.set $xA (v128.load64_lane 1 (local.get $p1) (v128.load64_zero (local.get $p0))))
        (local.set $xB (v128.load64_lane 1 (local.get $p3) (v128.load64_zero (local.get $p2))))
        (local.set $y_1A (f64x2.sub (f64x2.add (local.get $xA) (local.get $z1_1A)) (f64x2.mul (local.get $a1_1) (local.get $y_1A))))
        (local.set $z1_1A (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $xA)) (local.get $z2_1A)))
        (local.set $z2_1A (f64x2.sub (local.get $xA) (f64x2.mul (local.get $a2_1) (local.get $y_1A))))
        (local.set $y_1B (f64x2.sub (f64x2.add (local.get $xB) (local.get $z1_1B)) (f64x2.mul (local.get $a1_1) (local.get $y_1B))))
        (local.set $z1_1B (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $xB)) (local.get $z2_1B)))
        (local.set $z2_1B (f64x2.sub (local.get $xB) (f64x2.mul (local.get $a2_1) (local.get $y_1B))))
        (local.set $y_2A (f64x2.sub (f64x2.add (local.get $y_1A) (local.get $z1_2A)) (f64x2.mul (local.get $a1_2) (local.get $y_2A))))
        (local.set $z1_2A (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1A)) (local.get $z2_2A)))
        (local.set $z2_2A (f64x2.sub (local.get $y_1A) (f64x2.mul (local.get $a2_2) (local.get $y_2A))))
        (local.set $y_2B (f64x2.sub (f64x2.add (local.get $y_1B) (local.get $z1_2B)) (f64x2.mul (local.get $a1_2) (local.get $y_2B))))
        (local.set $z1_2B (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1B)) (local.get $z2_2B)))
        (local.set $z2_2B (f64x2.sub (local.get $y_1B) (f64x2.mul (local.get $a2_2) (local.get $y_2B))))
        (local.set $y_3A (f64x2.sub (f64x2.add (local.get $y_2A) (local.get $z1_3A)) (f64x2.mul (local.get $a1_3) (local.get $y_3A))))
        (local.set $z1_3A (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2A)) (local.get $z2_3A)))
        (local.set $z2_3A (f64x2.sub (local.get $y_2A) (f64x2.mul (local.get $a2_3) (local.get $y_3A))))
        (local.set $y_3B (f64x2.sub (f64x2.add (local.get $y_2B) (local.get $z1_3B)) (f64x2.mul (local.get $a1_3) (local.get $y_3B))))
        (local.set $z1_3B (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2B)) (local.get $z2_3B)))
        (local.set $z2_3B (f64x2.sub (local.get $y_2B) (f64x2.mul (local.get $a2_3) (local.get $y_3B))))
        (v128.store64_lane 0 (local.get $p0) (local.get $y_3A))
        (v128.store64_lane 1 (local.get $p1) (local.get $y_3A))
        (v128.store64_lane 0 (local.get $p2) (local.get $y_3B))
        (v128.store64_lane 1 (local.get $p3) (local.get $y_3B))
        ;; sample n + 1 at q, half a step on
        (local.set $q0 (i32.add (local.get $p0) (local.get $half)))
        (local.set $q1 (i32.add (local.get $p1) (local.get $half)))
        (local.set $q2 (i32.add (local.get $p2) (local.get $half)))
        (local.set $q3 (i32.add (local.get $p3) (local.get $half)))
        (local.set $xA (v128.load64_lane 1 (local.get $q1) (v128.load64_zero (local.get $q0))))
        (local.set $xB (v128.load64_lane 1 (local.get $q3) (v128.load64_zero (local.get $q2))))
        (local.set $y_1A (f64x2.sub (f64x2.add (local.get $xA) (local.get $z1_1A)) (f64x2.mul (local.get $a1_1) (local.get $y_1A))))
        (local.set $z1_1A (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $xA)) (local.get $z2_1A)))
        (local.set $z2_1A (f64x2.sub (local.get $xA) (f64x2.mul (local.get $a2_1) (local.get $y_1A))))
        (local.set $y_1B (f64x2.sub (f64x2.add (local.get $xB) (local.get $z1_1B)) (f64x2.mul (local.get $a1_1) (local.get $y_1B))))
        (local.set $z1_1B (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $xB)) (local.get $z2_1B)))
        (local.set $z2_1B (f64x2.sub (local.get $xB) (f64x2.mul (local.get $a2_1) (local.get $y_1B))))
        (local.set $y_2A (f64x2.sub (f64x2.add (local.get $y_1A) (local.get $z1_2A)) (f64x2.mul (local.get $a1_2) (local.get $y_2A))))
        (local.set $z1_2A (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1A)) (local.get $z2_2A)))
        (local.set $z2_2A (f64x2.sub (local.get $y_1A) (f64x2.mul (local.get $a2_2) (local.get $y_2A))))
        (local.set $y_2B (f64x2.sub (f64x2.add (local.get $y_1B) (local.get $z1_2B)) (f64x2.mul (local.get $a1_2) (local.get $y_2B))))
        (local.set $z1_2B (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1B)) (local.get $z2_2B)))
        (local.set $z2_2B (f64x2.sub (local.get $y_1B) (f64x2.mul (local.get $a2_2) (local.get $y_2B))))
        (local.set $y_3A (f64x2.sub (f64x2.add (local.get $y_2A) (local.get $z1_3A)) (f64x2.mul (local.get $a1_3) (local.get $y_3A))))
        (local.set $z1_3A (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2A)) (local.get $z2_3A)))
        (local.set $z2_3A (f64x2.sub (local.get $y_2A) (f64x2.mul (local.get $a2_3) (local.get $y_3A))))
        (local.set $y_3B (f64x2.sub (f64x2.add (local.get $y_2B) (local.get $z1_3B)) (f64x2.mul (local.get $a1_3) (local.get $y_3B))))
        (local.set $z1_3B (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2B)) (local.get $z2_3B)))
        (local.set $z2_3B (f64x2.sub (local.get $y_2B) (f64x2.mul (local.get $a2_3) (local.get $y_3B))))
        (v128.store64_lane 0 (local.get $q0) (local.get $y_3A))
        (v128.store64_lane 1 (local.get $q1) (local.get $y_3A))
        (v128.store64_lane 0 (local.get $q2) (local.get $y_3B))
        (v128.store64_lane 1 (local.get $q3) (local.get $y_3B))
        (local.set $p0 (i32.add (local.get $p0) (local.get $step)))
        (local.set $p1 (i32.add (local.get $p1) (local.get $step)))
        (local.set $p2 (i32.add (local.get $p2) (local.get $step)))
        (local.set $p3 (i32.add (local.get $p3) (local.get $step)))
        (br_if $step (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1))))))
    ;; the odd sample out, at p
    (if (local.get $odd)
      (then
        (local.set $xA (v128.load64_lane 1 (local.get $p1) (v128.load64_zero (local.get $p0))))
        (local.set $xB (v128.load64_lane 1 (local.get $p3) (v128.load64_zero (local.get $p2))))
        (local.set $y_1A (f64x2.sub (f64x2.add (local.get $xA) (local.get $z1_1A)) (f64x2.mul (local.get $a1_1) (local.get $y_1A))))
        (local.set $z1_1A (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $xA)) (local.get $z2_1A)))
        (local.set $z2_1A (f64x2.sub (local.get $xA) (f64x2.mul (local.get $a2_1) (local.get $y_1A))))
        (local.set $y_1B (f64x2.sub (f64x2.add (local.get $xB) (local.get $z1_1B)) (f64x2.mul (local.get $a1_1) (local.get $y_1B))))
        (local.set $z1_1B (f64x2.add (f64x2.mul (local.get $b1_1) (local.get $xB)) (local.get $z2_1B)))
        (local.set $z2_1B (f64x2.sub (local.get $xB) (f64x2.mul (local.get $a2_1) (local.get $y_1B))))
        (local.set $y_2A (f64x2.sub (f64x2.add (local.get $y_1A) (local.get $z1_2A)) (f64x2.mul (local.get $a1_2) (local.get $y_2A))))
        (local.set $z1_2A (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1A)) (local.get $z2_2A)))
        (local.set $z2_2A (f64x2.sub (local.get $y_1A) (f64x2.mul (local.get $a2_2) (local.get $y_2A))))
        (local.set $y_2B (f64x2.sub (f64x2.add (local.get $y_1B) (local.get $z1_2B)) (f64x2.mul (local.get $a1_2) (local.get $y_2B))))
        (local.set $z1_2B (f64x2.add (f64x2.mul (local.get $b1_2) (local.get $y_1B)) (local.get $z2_2B)))
        (local.set $z2_2B (f64x2.sub (local.get $y_1B) (f64x2.mul (local.get $a2_2) (local.get $y_2B))))
        (local.set $y_3A (f64x2.sub (f64x2.add (local.get $y_2A) (local.get $z1_3A)) (f64x2.mul (local.get $a1_3) (local.get $y_3A))))
        (local.set $z1_3A (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2A)) (local.get $z2_3A)))
        (local.set $z2_3A (f64x2.sub (local.get $y_2A) (f64x2.mul (local.get $a2_3) (local.get $y_3A))))
        (local.set $y_3B (f64x2.sub (f64x2.add (local.get $y_2B) (local.get $z1_3B)) (f64x2.mul (local.get $a1_3) (local.get $y_3B))))
        (local.set $z1_3B (f64x2.add (f64x2.mul (local.get $b1_3) (local.get $y_2B)) (local.get $z2_3B)))
        (local.set $z2_3B (f64x2.sub (local.get $y_2B) (f64x2.mul (local.get $a2_3) (local.get $y_3B))))
        (v128.store64_lane 0 (local.get $p0) (local.get $y_3A))
        (v128.store64_lane 1 (local.get $p1) (local.get $y_3A))
        (v128.store64_lane 0 (local.get $p2) (local.get $y_3B))
        (v128.store64_lane 1 (local.get $p3) (local.get $y_3B)))))

  ;; --- prepare(): z-score sums, the I/II cross sum, the final write to Float32. ---

  ;; sums(ptr, pairs, out): over `pairs` pairs of f64 values from ptr, the even and the odd samples in accumulators
  ;; of their own (prepare()'s rowSums): [s0, s1] += x and [q0, q1] += x * x; f64x2 s at out, q at out + 16.
  (func (export "sums") (param $ptr i32) (param $pairs i32) (param $out i32)
    (local $s v128) (local $q v128) (local $x v128)
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $step
        (local.set $s (f64x2.add (local.tee $x (v128.load align=8 (local.get $ptr))) (local.get $s)))
        (local.set $q (f64x2.add (f64x2.mul (local.get $x) (local.get $x)) (local.get $q)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br_if $step (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1))))))
    (v128.store offset=0 (local.get $out) (local.get $s))
    (v128.store offset=16 (local.get $out) (local.get $q)))

  ;; cross(a, b, pairs, out): [p0, p1] += a * b over two rows of f64 (prepare()'s crossSum); f64x2 p at out.
  (func (export "cross") (param $a i32) (param $b i32) (param $pairs i32) (param $out i32)
    (local $p v128)
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $step
        (local.set $p
          (f64x2.add (f64x2.mul (v128.load align=8 (local.get $a)) (v128.load align=8 (local.get $b))) (local.get $p)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br_if $step (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1))))))
    (v128.store (local.get $out) (local.get $p)))

  ;; write(src, dst, pairs, mean, scale): Float32 dst = (src - mean) * scale, two samples per step (writeRow).
  (func (export "write") (param $src i32) (param $dst i32) (param $pairs i32) (param $mean f64) (param $scale f64)
    (local $m v128) (local $k v128)
    (local.set $m (f64x2.splat (local.get $mean)))
    (local.set $k (f64x2.splat (local.get $scale)))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $step
        ;; the low two Float32 of demote((x - mean) * scale)
        (v128.store64_lane 0 (local.get $dst)
          (f32x4.demote_f64x2_zero
            (f64x2.mul (f64x2.sub (v128.load align=8 (local.get $src)) (local.get $m)) (local.get $k))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (br_if $step (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1)))))))

  ;; writeDerived(i, ii, dst, pairs, a, b, mean, scale): Float32 dst = (a * i + b * ii - mean) * scale, the
  ;; derived limb lead formed on the fly from rows I and II (writeDerivedRow).
  (func (export "writeDerived")
    (param $i i32) (param $ii i32) (param $dst i32) (param $pairs i32)
    (param $a f64) (param $b f64) (param $mean f64) (param $scale f64)
    (local $va v128) (local $vb v128) (local $m v128) (local $k v128)
    (local.set $va (f64x2.splat (local.get $a)))
    (local.set $vb (f64x2.splat (local.get $b)))
    (local.set $m (f64x2.splat (local.get $mean)))
    (local.set $k (f64x2.splat (local.get $scale)))
    (block $done
      (br_if $done (i32.eqz (local.get $pairs)))
      (loop $step
        (v128.store64_lane 0 (local.get $dst)
          (f32x4.demote_f64x2_zero
            (f64x2.mul
              (f64x2.sub
                (f64x2.add
                  (f64x2.mul (local.get $va) (v128.load align=8 (local.get $i)))
                  (f64x2.mul (local.get $vb) (v128.load align=8 (local.get $ii))))
                (local.get $m))
              (local.get $k))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (local.set $ii (i32.add (local.get $ii) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (br_if $step (local.tee $pairs (i32.sub (local.get $pairs) (i32.const 1)))))))

  ;; --- prepare(): resampling and the stored limb leads check, over Float32 leads. ---

  ;; halfBand(a, b, outA, outB, count, h0, w1, w3, w5): 2:1 half-band decimation of two Float32 leads at once (one
  ;; per lane), as resample.ts's interior loop. `a` and `b` point at input 2 lo - 5, outA and outB (f64 rows) at
  ;; output lo; with c the centre input of an output,
  ;;   out = (x[c] h0 + (x[c-1] + x[c+1]) w1) + ((x[c-3] + x[c+3]) w3 + (x[c-5] + x[c+5]) w5)
  ;; the odd inputs kept in locals from one output to the next (the centre moves on by two).
  (func (export "halfBand")
    (param $a i32) (param $b i32) (param $outA i32) (param $outB i32) (param $count i32)
    (param $h0 f64) (param $w1 f64) (param $w3 f64) (param $w5 f64)
    (local $vh0 v128) (local $vw1 v128) (local $vw3 v128) (local $vw5 v128)
    ;; x[c-5], x[c-3], x[c-1], x[c+1], x[c+3], x[c+5] of both leads, promoted to f64
    (local $xm5 v128) (local $xm3 v128) (local $xm1 v128) (local $xp1 v128) (local $xp3 v128) (local $xp5 v128)
    (local.set $vh0 (f64x2.splat (local.get $h0)))
    (local.set $vw1 (f64x2.splat (local.get $w1)))
    (local.set $vw3 (f64x2.splat (local.get $w3)))
    (local.set $vw5 (f64x2.splat (local.get $w5)))
    ;; input k (relative to the centre c) sits at byte offset 4 (k + 5) from a and b
    (local.set $xm5
      (f64x2.promote_low_f32x4 (v128.load32_lane offset=0 1 (local.get $b) (v128.load32_zero offset=0 (local.get $a)))))
    (local.set $xm3
      (f64x2.promote_low_f32x4 (v128.load32_lane offset=8 1 (local.get $b) (v128.load32_zero offset=8 (local.get $a)))))
    (local.set $xm1
      (f64x2.promote_low_f32x4 (v128.load32_lane offset=16 1 (local.get $b) (v128.load32_zero offset=16 (local.get $a)))))
    (local.set $xp1
      (f64x2.promote_low_f32x4 (v128.load32_lane offset=24 1 (local.get $b) (v128.load32_zero offset=24 (local.get $a)))))
    (local.set $xp3
      (f64x2.promote_low_f32x4 (v128.load32_lane offset=32 1 (local.get $b) (v128.load32_zero offset=32 (local.get $a)))))
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $step
        (local.set $xp5
          (f64x2.promote_low_f32x4
            (v128.load32_lane offset=40 1 (local.get $b) (v128.load32_zero offset=40 (local.get $a)))))
        ;; the output (kept in xm5, which is free once read) to lane 0 at outA and lane 1 at outB
        (v128.store64_lane 0 (local.get $outA)
          (local.tee $xm5
            (f64x2.add
              (f64x2.add
                (f64x2.mul
                  (f64x2.promote_low_f32x4
                    (v128.load32_lane offset=20 1 (local.get $b) (v128.load32_zero offset=20 (local.get $a))))
                  (local.get $vh0))
                (f64x2.mul (f64x2.add (local.get $xm1) (local.get $xp1)) (local.get $vw1)))
              (f64x2.add
                (f64x2.mul (f64x2.add (local.get $xm3) (local.get $xp3)) (local.get $vw3))
                (f64x2.mul (f64x2.add (local.get $xm5) (local.get $xp5)) (local.get $vw5))))))
        (v128.store64_lane 1 (local.get $outB) (local.get $xm5))
        ;; slide the odd inputs by two
        (local.set $xm5 (local.get $xm3))
        (local.set $xm3 (local.get $xm1))
        (local.set $xm1 (local.get $xp1))
        (local.set $xp1 (local.get $xp3))
        (local.set $xp3 (local.get $xp5))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (local.set $outA (i32.add (local.get $outA) (i32.const 8)))
        (local.set $outB (i32.add (local.get $outB) (i32.const 8)))
        (br_if $step (local.tee $count (i32.sub (local.get $count) (i32.const 1)))))))

  ;; derivation(x, i, ii, quads, a, b, tol) -> steps left: whether x - (a i + b ii) lies within [-tol, tol] at every
  ;; sample of three Float32 rows, four samples per step, in f64 as prepare()'s isStoredDerivation computes it
  ;; (|d| <= tol holds exactly where both bounds do; NaN fails both). Stops at the first step that fails and
  ;; returns how many steps were left, counting that one (0: every sample within).
  (func (export "derivation")
    (param $x i32) (param $i i32) (param $ii i32) (param $quads i32) (param $a f64) (param $b f64) (param $tol f64)
    (result i32)
    (local $va v128) (local $vb v128) (local $vt v128)
    (local $vx v128) (local $vi v128) (local $vii v128) (local $low v128)
    (local.set $va (f64x2.splat (local.get $a)))
    (local.set $vb (f64x2.splat (local.get $b)))
    (local.set $vt (f64x2.splat (local.get $tol)))
    (block $done
      (br_if $done (i32.eqz (local.get $quads)))
      (loop $step
        (local.set $vx (v128.load align=4 (local.get $x)))
        (local.set $vi (v128.load align=4 (local.get $i)))
        (local.set $vii (v128.load align=4 (local.get $ii)))
        ;; samples 0 and 1: all ones in each lane within the tolerance
        (local.set $low
          (f64x2.le
            (f64x2.abs
              (f64x2.sub
                (f64x2.promote_low_f32x4 (local.get $vx))
                (f64x2.add
                  (f64x2.mul (local.get $va) (f64x2.promote_low_f32x4 (local.get $vi)))
                  (f64x2.mul (local.get $vb) (f64x2.promote_low_f32x4 (local.get $vii))))))
            (local.get $vt)))
        ;; samples 2 and 3 (moved down to lanes 0 and 1 first), and leave when any of the four is out
        (br_if $done
          (i32.eqz
            (i64x2.all_true
              (v128.and
                (f64x2.le
                  (f64x2.abs
                    (f64x2.sub
                      (f64x2.promote_low_f32x4
                        (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $vx) (local.get $vx)))
                      (f64x2.add
                        (f64x2.mul
                          (local.get $va)
                          (f64x2.promote_low_f32x4
                            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $vi) (local.get $vi))))
                        (f64x2.mul
                          (local.get $vb)
                          (f64x2.promote_low_f32x4
                            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $vii) (local.get $vii)))))))
                  (local.get $vt))
                (local.get $low)))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (local.set $ii (i32.add (local.get $ii) (i32.const 16)))
        (br_if $step (local.tee $quads (i32.sub (local.get $quads) (i32.const 1))))))
    (local.get $quads))

  ;; --- The drift monitor's noise median (input-stats.ts), over Float64 values. ---

  ;; binnedRank(a, count, scale, k, hist, into, bins) -> rank * 2^21 + m: input-stats.ts's selectNonNegative up to
  ;; its selection, over the count values at a (non-negative, each at most 2047 / scale). Each value's bin,
  ;; trunc(v * scale), is computed two at a time (f64x2), kept as an i16 at bins + 2 i, and counted into four
  ;; histograms of 2048 i32 bins at hist, 8 KB apart (the values at i mod 4 into their own, so a run of equal values
  ;; does not wait on one counter). Then it finds the bin that holds rank k (the smallest bin whose counts with those
  ;; below it pass k) and copies that bin's values, in order, to into (f64): eight kept bins compared at once
  ;; (i16x8), and the eight values looked at one by one only where one of them is in the bin (most groups hold none:
  ;; the median's bin is one of 2048, though ties can fill it). Returns m, how many were copied, and k's rank among
  ;; them.
  (func (export "binnedRank")
    (param $a i32) (param $count i32) (param $scale f64) (param $k i32) (param $hist i32) (param $into i32)
    (param $bins i32) (result f64)
    (local $end i32) (local $p i32) (local $q i32) (local $b i32) (local $bin i32) (local $below i32)
    (local $c i32) (local $m i32) (local $i i32) (local $j i32) (local $s v128) (local $v v128) (local $want v128)
    ;; zero the four histograms, 16 bytes at a time
    (local.set $p (local.get $hist))
    (local.set $q (i32.const 2048))
    (loop $zero
      (v128.store (local.get $p) (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br_if $zero (local.tee $q (i32.sub (local.get $q) (i32.const 1)))))
    (local.set $s (f64x2.splat (local.get $scale)))
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $count) (i32.const 3))))
    ;; four values a step: their bins as i32 lanes, stored as four i16, each counted in its own histogram
    (local.set $p (local.get $a))
    (local.set $b (local.get $bins))
    (local.set $q (i32.shr_u (local.get $count) (i32.const 2)))
    (block $done
      (br_if $done (i32.eqz (local.get $q)))
      (loop $step
        (local.set $v
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (i32x4.trunc_sat_f64x2_s_zero (f64x2.mul (v128.load (local.get $p)) (local.get $s)))
            (i32x4.trunc_sat_f64x2_s_zero (f64x2.mul (v128.load offset=16 (local.get $p)) (local.get $s)))))
        (v128.store64_lane 0 (local.get $b) (i16x8.narrow_i32x4_s (local.get $v) (local.get $v)))
        (local.set $c (i32.add (local.get $hist) (i32.shl (i32x4.extract_lane 0 (local.get $v)) (i32.const 2))))
        (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1)))
        (local.set $c (i32.add (local.get $hist) (i32.shl (i32x4.extract_lane 1 (local.get $v)) (i32.const 2))))
        (i32.store offset=8192 (local.get $c) (i32.add (i32.load offset=8192 (local.get $c)) (i32.const 1)))
        (local.set $c (i32.add (local.get $hist) (i32.shl (i32x4.extract_lane 2 (local.get $v)) (i32.const 2))))
        (i32.store offset=16384 (local.get $c) (i32.add (i32.load offset=16384 (local.get $c)) (i32.const 1)))
        (local.set $c (i32.add (local.get $hist) (i32.shl (i32x4.extract_lane 3 (local.get $v)) (i32.const 2))))
        (i32.store offset=24576 (local.get $c) (i32.add (i32.load offset=24576 (local.get $c)) (i32.const 1)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $b (i32.add (local.get $b) (i32.const 8)))
        (br_if $step (local.tee $q (i32.sub (local.get $q) (i32.const 1))))))
    ;; the last count mod 4 values, into the first histogram
    (block $rest
      (loop $step
        (br_if $rest (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.trunc_sat_f64_s (f64.mul (f64.load (local.get $p)) (local.get $scale))))
        (i32.store16 (local.get $b) (local.get $c))
        (local.set $c (i32.add (local.get $hist) (i32.shl (local.get $c) (i32.const 2))))
        (i32.store (local.get $c) (i32.add (i32.load (local.get $c)) (i32.const 1)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $b (i32.add (local.get $b) (i32.const 2)))
        (br $step)))
    ;; the bin that holds rank k, and how many values lie below it
    (block $found
      (loop $scan
        (local.set $b (i32.add (local.get $hist) (i32.shl (local.get $bin) (i32.const 2))))
        (local.set $c
          (i32.add
            (i32.add (i32.load (local.get $b)) (i32.load offset=8192 (local.get $b)))
            (i32.add (i32.load offset=16384 (local.get $b)) (i32.load offset=24576 (local.get $b)))))
        (br_if $found (i32.gt_u (i32.add (local.get $below) (local.get $c)) (local.get $k)))
        (local.set $below (i32.add (local.get $below) (local.get $c)))
        (local.set $bin (i32.add (local.get $bin) (i32.const 1)))
        (br $scan)))
    ;; that bin's values, in order: eight kept bins at a time, the values of a group with one of them in the bin
    ;; copied without a branch per value (each stored, the count moving on only for the bin's own)
    (local.set $want (i16x8.splat (local.get $bin)))
    (local.set $q (i32.shr_u (local.get $count) (i32.const 3)))
    (block $groupsDone
      (br_if $groupsDone (i32.eqz (local.get $q)))
      (loop $group
        (if (v128.any_true
              (i16x8.eq (v128.load (i32.add (local.get $bins) (i32.shl (local.get $i) (i32.const 1))))
                (local.get $want)))
          (then
            (local.set $j (i32.add (local.get $i) (i32.const 8)))
            (loop $value
              (f64.store (i32.add (local.get $into) (i32.shl (local.get $m) (i32.const 3)))
                (f64.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 3)))))
              (local.set $m (i32.add (local.get $m)
                (i32.eq (i32.load16_s (i32.add (local.get $bins) (i32.shl (local.get $i) (i32.const 1))))
                  (local.get $bin))))
              (br_if $value (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $j)))))
          (else (local.set $i (i32.add (local.get $i) (i32.const 8)))))
        (br_if $group (local.tee $q (i32.sub (local.get $q) (i32.const 1))))))
    (block $tailDone
      (loop $value
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $count)))
        (f64.store (i32.add (local.get $into) (i32.shl (local.get $m) (i32.const 3)))
          (f64.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $m (i32.add (local.get $m)
          (i32.eq (i32.load16_s (i32.add (local.get $bins) (i32.shl (local.get $i) (i32.const 1))))
            (local.get $bin))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $value)))
    (f64.add
      (f64.mul (f64.convert_i32_u (i32.sub (local.get $k) (local.get $below))) (f64.const 2097152))
      (f64.convert_i32_u (local.get $m))))

  ;; leadPass(src, n, second, diffs, windows, out): input-stats.ts's one pass over a lead's n Float32 samples at src
  ;; (the caller puts two copies of the first sample just before it, at src - 8 and src - 4, where the JavaScript
  ;; starts its `before` and `previous`). Window by window of `second` samples (the last one may be partial), two
  ;; samples per step from the window's start, lane 0 the first of each pair and lane 1 the second, then one lone
  ;; sample into lane 0 when the window's count is odd, exactly as the JavaScript's even and odd halves go:
  ;;   window sums += v; window squares += v * v; d = |v - 2 * x[i - 1] + x[i - 2]| (f64, stored at diffs + 8 i);
  ;;   the largest d (pmax, as `d > max` keeps the first); at each window's end sum += even + odd, squares likewise,
  ;;   and a whole window's mean (its sum / second) goes to windows + 8 k.
  ;; At out: f64 sum, squares, largest d, and the number of whole windows.
  (func (export "leadPass")
    (param $src i32) (param $n i32) (param $second i32) (param $diffs i32) (param $windows i32) (param $out i32)
    (local $i i32) (local $end i32) (local $stop i32) (local $k i32) (local $p i32)
    (local $v v128) (local $d v128) (local $wsum v128) (local $wsq v128) (local $dmax v128)
    (local $sum f64) (local $squares f64) (local $x f64) (local $e f64) (local $m f64) (local $windowSum f64)
    (local.set $end (local.get $second))
    (block $done
      (loop $window
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $stop (select (local.get $end) (local.get $n) (i32.lt_s (local.get $end) (local.get $n))))
        (local.set $wsum (v128.const f64x2 0 0))
        (local.set $wsq (v128.const f64x2 0 0))
        (block $pairsDone
          (loop $pair
            (br_if $pairsDone (i32.ge_s (i32.add (local.get $i) (i32.const 1)) (local.get $stop)))
            (local.set $p (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (local.get $p))))
            (local.set $wsum (f64x2.add (local.get $wsum) (local.get $v)))
            (local.set $wsq (f64x2.add (local.get $wsq) (f64x2.mul (local.get $v) (local.get $v))))
            ;; (v - 2 * previous) + before, as the JavaScript groups it
            (local.set $d
              (f64x2.abs
                (f64x2.add
                  (f64x2.sub
                    (local.get $v)
                    (f64x2.mul
                      (v128.const f64x2 2 2)
                      (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.sub (local.get $p) (i32.const 4))))))
                  (f64x2.promote_low_f32x4 (v128.load64_zero align=4 (i32.sub (local.get $p) (i32.const 8)))))))
            (v128.store align=8 (i32.add (local.get $diffs) (i32.shl (local.get $i) (i32.const 3))) (local.get $d))
            (local.set $dmax (f64x2.pmax (local.get $dmax) (local.get $d)))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br $pair)))
        ;; the window's lone last sample, into the first half
        (if (i32.lt_s (local.get $i) (local.get $stop))
          (then
            (local.set $p (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $x (f64.promote_f32 (f32.load (local.get $p))))
            (local.set $wsum
              (f64x2.replace_lane 0 (local.get $wsum) (f64.add (f64x2.extract_lane 0 (local.get $wsum)) (local.get $x))))
            (local.set $wsq
              (f64x2.replace_lane 0 (local.get $wsq)
                (f64.add (f64x2.extract_lane 0 (local.get $wsq)) (f64.mul (local.get $x) (local.get $x)))))
            (local.set $e
              (f64.abs
                (f64.add
                  (f64.sub
                    (local.get $x)
                    (f64.mul (f64.const 2) (f64.promote_f32 (f32.load (i32.sub (local.get $p) (i32.const 4))))))
                  (f64.promote_f32 (f32.load (i32.sub (local.get $p) (i32.const 8)))))))
            (f64.store (i32.add (local.get $diffs) (i32.shl (local.get $i) (i32.const 3))) (local.get $e))
            (local.set $m (f64x2.extract_lane 0 (local.get $dmax)))
            (local.set $dmax
              (f64x2.replace_lane 0 (local.get $dmax)
                (select (local.get $e) (local.get $m) (f64.lt (local.get $m) (local.get $e)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (local.set $windowSum
          (f64.add (f64x2.extract_lane 0 (local.get $wsum)) (f64x2.extract_lane 1 (local.get $wsum))))
        (local.set $sum (f64.add (local.get $sum) (local.get $windowSum)))
        (local.set $squares
          (f64.add (local.get $squares)
            (f64.add (f64x2.extract_lane 0 (local.get $wsq)) (f64x2.extract_lane 1 (local.get $wsq)))))
        (if (i32.eq (local.get $stop) (local.get $end))
          (then
            (f64.store (i32.add (local.get $windows) (i32.shl (local.get $k) (i32.const 3)))
              (f64.div (local.get $windowSum) (f64.convert_i32_s (local.get $second))))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))))
        (local.set $end (i32.add (local.get $end) (local.get $second)))
        (br $window)))
    (f64.store offset=0 (local.get $out) (local.get $sum))
    (f64.store offset=8 (local.get $out) (local.get $squares))
    (local.set $m (f64x2.extract_lane 0 (local.get $dmax)))
    (local.set $e (f64x2.extract_lane 1 (local.get $dmax)))
    (f64.store offset=16 (local.get $out) (select (local.get $e) (local.get $m) (f64.lt (local.get $m) (local.get $e))))
    (f64.store offset=24 (local.get $out) (f64.convert_i32_s (local.get $k))))

  ;; --- SampledData text (fhir-writer's waveform.ts formatIntegers), from Int16 data. ---

  ;; formatInt16(src, count, out, lut) -> bytes: the count Int16 values at src as decimal ASCII, each followed by one
  ;; space, from out on; returns the number of bytes written (the last space included). lut holds, for v from -999
  ;; to 999, one i64 at lut + 8 (v + 999): the bytes of `${v} ` from its low byte up, and the token's length in its
  ;; top byte. Such a token is one 8-byte store (the bytes past its length are overwritten by the next token, or left
  ;; past the end: out needs 8 bytes of room beyond the text); other values are written digit by digit.
  (func (export "formatInt16") (param $src i32) (param $count i32) (param $out i32) (param $lut i32) (result i32)
    (local $v i32) (local $e i64) (local $start i32)
    (local.set $start (local.get $out))
    (block $done
      (br_if $done (i32.eqz (local.get $count)))
      (loop $step
        (local.set $v (i32.load16_s (local.get $src)))
        (if (i32.le_u (i32.add (local.get $v) (i32.const 999)) (i32.const 1998))
          (then
            (local.set $e
              (i64.load (i32.add (local.get $lut) (i32.shl (i32.add (local.get $v) (i32.const 999)) (i32.const 3)))))
            (i64.store (local.get $out) (local.get $e))
            (local.set $out (i32.add (local.get $out) (i32.wrap_i64 (i64.shr_u (local.get $e) (i64.const 56))))))
          (else
            (if (i32.lt_s (local.get $v) (i32.const 0))
              (then
                (i32.store8 (local.get $out) (i32.const 45))
                (local.set $out (i32.add (local.get $out) (i32.const 1)))
                (local.set $v (i32.sub (i32.const 0) (local.get $v)))))
            ;; 1000 <= v <= 32768: a leading digit when v has five, then four
            (if (i32.ge_u (local.get $v) (i32.const 10000))
              (then
                (i32.store8 (local.get $out) (i32.add (i32.const 48) (i32.div_u (local.get $v) (i32.const 10000))))
                (local.set $v (i32.rem_u (local.get $v) (i32.const 10000)))
                (local.set $out (i32.add (local.get $out) (i32.const 1)))))
            (i32.store8 (local.get $out) (i32.add (i32.const 48) (i32.div_u (local.get $v) (i32.const 1000))))
            (i32.store8 offset=1 (local.get $out)
              (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $v) (i32.const 100)) (i32.const 10))))
            (i32.store8 offset=2 (local.get $out)
              (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $v) (i32.const 10)) (i32.const 10))))
            (i32.store8 offset=3 (local.get $out) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
            (i32.store8 offset=4 (local.get $out) (i32.const 32))
            (local.set $out (i32.add (local.get $out) (i32.const 5)))))
        (local.set $src (i32.add (local.get $src) (i32.const 2)))
        (br_if $step (local.tee $count (i32.sub (local.get $count) (i32.const 1))))))
    (i32.sub (local.get $out) (local.get $start)))

  ;; --- The quality gate's lead statistics and the finiteness check, over Float32 values. ---

  ;; stats(ptr, quads, out): as quality.ts's leadStats, four samples per step: s_k += the samples at k mod 4 and
  ;; q_k += their squares (promoted to f64, in order; four independent chains, so the additions' latency does not
  ;; bound the loop), and per lane the largest and the smallest value (pmax / pmin keep the first of equal values,
  ;; as leadStats's `v > max` does). Stores f64x2 [s0, s1], [s2, s3], [q0, q1], [q2, q3], then f32x4 max and min,
  ;; from out on. extremeCounts then counts the samples equal to each extreme.
  (func (export "stats") (param $ptr i32) (param $quads i32) (param $out i32)
    (local $s01 v128) (local $s23 v128) (local $q01 v128) (local $q23 v128)
    (local $max v128) (local $min v128) (local $v v128) (local $h v128)
    (local.set $max (f32x4.splat (f32.const -inf)))
    (local.set $min (f32x4.splat (f32.const inf)))
    (block $done
      (br_if $done (i32.eqz (local.get $quads)))
      (loop $step
        ;; samples 0 and 1
        (local.set $h (f64x2.promote_low_f32x4 (local.tee $v (v128.load align=4 (local.get $ptr)))))
        (local.set $s01 (f64x2.add (local.get $s01) (local.get $h)))
        (local.set $q01 (f64x2.add (local.get $q01) (f64x2.mul (local.get $h) (local.get $h))))
        ;; samples 2 and 3, moved down to lanes 0 and 1
        (local.set $h
          (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))))
        (local.set $s23 (f64x2.add (local.get $s23) (local.get $h)))
        (local.set $q23 (f64x2.add (local.get $q23) (f64x2.mul (local.get $h) (local.get $h))))
        ;; pmax(a, b) = a < b ? b : a; pmin(a, b) = b < a ? b : a: the first of equal values (never a NaN v) is kept
        (local.set $max (f32x4.pmax (local.get $max) (local.get $v)))
        (local.set $min (f32x4.pmin (local.get $min) (local.get $v)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br_if $step (local.tee $quads (i32.sub (local.get $quads) (i32.const 1))))))
    (v128.store offset=0 (local.get $out) (local.get $s01))
    (v128.store offset=16 (local.get $out) (local.get $s23))
    (v128.store offset=32 (local.get $out) (local.get $q01))
    (v128.store offset=48 (local.get $out) (local.get $q23))
    (v128.store offset=64 (local.get $out) (local.get $max))
    (v128.store offset=80 (local.get $out) (local.get $min)))

  ;; extremeCounts(ptr, quads, max, min, out): per lane, how many of the Float32 values equal max and min; i32x4
  ;; counts of max at out, of min at out + 16.
  (func (export "extremeCounts") (param $ptr i32) (param $quads i32) (param $max f32) (param $min f32) (param $out i32)
    (local $vmax v128) (local $vmin v128) (local $atMax v128) (local $atMin v128) (local $v v128)
    (local.set $vmax (f32x4.splat (local.get $max)))
    (local.set $vmin (f32x4.splat (local.get $min)))
    (block $done
      (br_if $done (i32.eqz (local.get $quads)))
      (loop $step
        (local.set $v (v128.load align=4 (local.get $ptr)))
        ;; an equal lane is all ones (-1): subtracting it counts one
        (local.set $atMax (i32x4.sub (local.get $atMax) (f32x4.eq (local.get $v) (local.get $vmax))))
        (local.set $atMin (i32x4.sub (local.get $atMin) (f32x4.eq (local.get $v) (local.get $vmin))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br_if $step (local.tee $quads (i32.sub (local.get $quads) (i32.const 1))))))
    (v128.store offset=0 (local.get $out) (local.get $atMax))
    (v128.store offset=16 (local.get $out) (local.get $atMin)))

  ;; nonFinite(ptr, quads) -> 1 when any of 4 quads Float32 values is NaN or infinite (its exponent bits all ones),
  ;; else 0. One bitwise chain: and, compare, or per four values.
  (func (export "nonFinite") (param $ptr i32) (param $quads i32) (result i32)
    (local $exponent v128) (local $any v128)
    (local.set $exponent (i32x4.splat (i32.const 0x7f800000)))
    (block $done
      (br_if $done (i32.eqz (local.get $quads)))
      (loop $step
        (local.set $any
          (v128.or
            (local.get $any)
            (i32x4.eq (v128.and (v128.load align=4 (local.get $ptr)) (local.get $exponent)) (local.get $exponent))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br_if $step (local.tee $quads (i32.sub (local.get $quads) (i32.const 1))))))
    (v128.any_true (local.get $any)))

  ;; --- The payload codec: a lead's integers under a quantum (codec.ts's storeData and hintedPass). ---

  ;; quantise(ptr, quads, out, origin, factor, res): for each Float32 sample v of 4 quads at ptr,
  ;;   d = Math.round((v - origin) / factor)   (floor, then + 1 where the rest is >= 0.5: ties toward +inf)
  ;; The sample misses when |d| > 2^31 - 1, when f32(origin + factor * d) is not v (NaN never is), or when v is -0
  ;; (it would decode as +0). d goes out as i16 (saturated: exact only where no datum is wide) at out. The sample
  ;; before the first sits at ptr - 4 (the caller puts the first sample there: its gap is then 0). At res: i32x4
  ;; any-miss mask, i32x4 any-wide mask (|d| > 32767), f64x2 smallest non-zero |v - previous| (float64, as the
  ;; JavaScript subtracts), f32x4 smallest non-zero |v| (+inf where none). The pass stops after the step with the
  ;; first miss (the JavaScript returns there too): then only the miss mask means anything. The minima use pmin (one
  ;; instruction): zero gaps are +inf by then, and a NaN (only where a sample misses) is dropped instead of kept.
  (func (export "quantise")
    (param $ptr i32) (param $quads i32) (param $out i32) (param $origin f64) (param $factor f64) (param $res i32)
    (local $v v128) (local $prev v128) (local $miss v128) (local $wide v128) (local $between v128) (local $fromZero v128)
    (local $o v128) (local $f v128) (local $inf64 v128) (local $inf32 v128) (local $half v128) (local $one v128)
    (local $max v128) (local $int16 v128) (local $negZero v128) (local $magic v128)
    (local $x v128) (local $d v128) (local $g v128) (local $lo v128) (local $hi v128) (local $dlo v128)
    (local $check v128)
    (local.set $o (f64x2.splat (local.get $origin)))
    (local.set $f (f64x2.splat (local.get $factor)))
    (local.set $inf64 (f64x2.splat (f64.const inf)))
    (local.set $inf32 (f32x4.splat (f32.const inf)))
    (local.set $half (f64x2.splat (f64.const 0.5)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $max (f64x2.splat (f64.const 2147483647)))
    (local.set $int16 (f64x2.splat (f64.const 32767)))
    (local.set $negZero (i32x4.splat (i32.const 0x80000000)))
    ;; 2^52 + 2^51: an integer d in the 32-bit range added to it sits, two's complement, in the low 32 bits
    (local.set $magic (f64x2.splat (f64.const 6755399441055744)))
    (local.set $between (local.get $inf64))
    (local.set $fromZero (local.get $inf32))
    (block $done
      (br_if $done (i32.eqz (local.get $quads)))
      (loop $step
        (local.set $v (v128.load align=4 (local.get $ptr)))
        (local.set $prev (v128.load align=4 (i32.sub (local.get $ptr) (i32.const 4))))
        ;; -0
        (local.set $miss (v128.or (local.get $miss) (i32x4.eq (local.get $v) (local.get $negZero))))
        ;; smallest non-zero |v|, in Float32 (exact)
        (local.set $g (f32x4.abs (local.get $v)))
        (local.set $fromZero
          (f32x4.pmin (local.get $fromZero)
            (v128.bitselect (local.get $inf32) (local.get $g) (f32x4.eq (local.get $g) (f32x4.splat (f32.const 0))))))
        ;; samples 0 and 1, then 2 and 3 (moved down to lanes 0 and 1), in float64
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $hi
          (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))))
        ;; gaps to the previous samples
        (local.set $g (f64x2.abs (f64x2.sub (local.get $lo) (f64x2.promote_low_f32x4 (local.get $prev)))))
        (local.set $between
          (f64x2.pmin (local.get $between)
            (v128.bitselect (local.get $inf64) (local.get $g) (f64x2.eq (local.get $g) (f64x2.splat (f64.const 0))))))
        (local.set $g
          (f64x2.abs
            (f64x2.sub (local.get $hi)
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $prev) (local.get $prev))))))
        (local.set $between
          (f64x2.pmin (local.get $between)
            (v128.bitselect (local.get $inf64) (local.get $g) (f64x2.eq (local.get $g) (f64x2.splat (f64.const 0))))))
        ;; d = Math.round((v - origin) / factor), low pair
        (local.set $x (f64x2.div (f64x2.sub (local.get $lo) (local.get $o)) (local.get $f)))
        (local.set $d (f64x2.floor (local.get $x)))
        (local.set $d
          (f64x2.add (local.get $d)
            (v128.and (local.get $one) (f64x2.ge (f64x2.sub (local.get $x) (local.get $d)) (local.get $half)))))
        (local.set $miss
          (v128.or (local.get $miss)
            (v128.or (f64x2.gt (local.get $d) (local.get $max)) (f64x2.lt (local.get $d) (f64x2.neg (local.get $max))))))
        (local.set $wide
          (v128.or (local.get $wide)
            (v128.or (f64x2.gt (local.get $d) (local.get $int16)) (f64x2.lt (local.get $d) (f64x2.neg (local.get $int16))))))
        (local.set $check
          (f32x4.demote_f64x2_zero (f64x2.add (local.get $o) (f64x2.mul (local.get $f) (local.get $d)))))
        (local.set $dlo (f64x2.add (local.get $d) (local.get $magic)))
        ;; high pair
        (local.set $x (f64x2.div (f64x2.sub (local.get $hi) (local.get $o)) (local.get $f)))
        (local.set $d (f64x2.floor (local.get $x)))
        (local.set $d
          (f64x2.add (local.get $d)
            (v128.and (local.get $one) (f64x2.ge (f64x2.sub (local.get $x) (local.get $d)) (local.get $half)))))
        (local.set $miss
          (v128.or (local.get $miss)
            (v128.or (f64x2.gt (local.get $d) (local.get $max)) (f64x2.lt (local.get $d) (f64x2.neg (local.get $max))))))
        (local.set $wide
          (v128.or (local.get $wide)
            (v128.or (f64x2.gt (local.get $d) (local.get $int16)) (f64x2.lt (local.get $d) (f64x2.neg (local.get $int16))))))
        ;; f32(origin + factor * d) of all four against v (f32x4.eq: NaN never equal, -0 equal to +0 as in JavaScript)
        (local.set $check
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (local.get $check)
            (f32x4.demote_f64x2_zero (f64x2.add (local.get $o) (f64x2.mul (local.get $f) (local.get $d))))))
        (local.set $miss (v128.or (local.get $miss) (v128.not (f32x4.eq (local.get $check) (local.get $v)))))
        ;; the low 32 bits of each magic sum are the four data; narrowed (saturating) to i16, stored as 8 bytes
        (local.set $d
          (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (local.get $dlo) (f64x2.add (local.get $d) (local.get $magic))))
        (v128.store64_lane 0 (local.get $out) (i16x8.narrow_i32x4_s (local.get $d) (local.get $d)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        ;; the first miss ends the pass (a candidate quantum that does not fit mostly misses at once)
        (br_if $done (v128.any_true (local.get $miss)))
        (br_if $step (local.tee $quads (i32.sub (local.get $quads) (i32.const 1))))))
    (v128.store offset=0 (local.get $res) (local.get $miss))
    (v128.store offset=16 (local.get $res) (local.get $wide))
    (v128.store offset=32 (local.get $res) (local.get $between))
    (v128.store offset=48 (local.get $res) (local.get $fromZero)))

  ;; quantiseScaled(ptr, quads, out, factor, inverse, res): quantise's pass for origin 0 and a factor s > 0 of at
  ;; most 9 significant bits (the caller checks), in Float32 four samples a step. For |d| <= 32767, s * d is then a
  ;; Float32 exactly, so a sample that comes back is s * d, and its quotient v * f32(1 / s) lies within 2^-8 of d:
  ;; d = nearest(v * inverse) is Math.round(v / s), and f32(s * d) == v is quantise's check, for the same verdict
  ;; and data. Gaps between samples are s * (d - previous d) exactly, so the smallest ones come as data: at res the
  ;; i32x4 any-miss mask, the i32x4 any-wide mask (|d| > 32767, where the caller's exact loop decides: such lanes
  ;; never count as misses here), the i32x4 smallest non-zero |d - previous d| and the i32x4 smallest non-zero |d|
  ;; (0x7fffffff where none), lane by lane. Same layout as quantise: the first sample again at ptr - 4, the last
  ;; repeating to a whole quad; the pass stops after the step with the first miss.
  (func (export "quantiseScaled")
    (param $ptr i32) (param $quads i32) (param $out i32) (param $factor f32) (param $inverse f32) (param $res i32)
    (local $v v128) (local $d v128) (local $i v128) (local $previous v128) (local $g v128)
    (local $miss v128) (local $wide v128) (local $between v128) (local $fromZero v128)
    (local $s v128) (local $r v128) (local $int16 v128) (local $none v128) (local $negZero v128)
    (local.set $s (f32x4.splat (local.get $factor)))
    (local.set $r (f32x4.splat (local.get $inverse)))
    (local.set $int16 (f32x4.splat (f32.const 32767)))
    (local.set $none (i32x4.splat (i32.const 0x7fffffff)))
    (local.set $negZero (i32x4.splat (i32.const 0x80000000)))
    (local.set $between (local.get $none))
    (local.set $fromZero (local.get $none))
    ;; the datum of the sample before the first (the first itself), in lane 3
    (local.set $previous
      (i32x4.splat
        (i32.trunc_sat_f32_s
          (f32.nearest (f32.mul (f32.load (i32.sub (local.get $ptr) (i32.const 4))) (local.get $inverse))))))
    (block $done
      (br_if $done (i32.eqz (local.get $quads)))
      (loop $step
        (local.set $v (v128.load align=4 (local.get $ptr)))
        (local.set $d (f32x4.nearest (f32x4.mul (local.get $v) (local.get $r))))
        (local.set $g (f32x4.gt (f32x4.abs (local.get $d)) (local.get $int16)))
        (local.set $wide (v128.or (local.get $wide) (local.get $g)))
        ;; not v (NaN never is) or -0, outside the wide lanes
        (local.set $miss
          (v128.or (local.get $miss)
            (v128.or
              (i32x4.eq (local.get $v) (local.get $negZero))
              (v128.andnot (v128.not (f32x4.eq (f32x4.mul (local.get $s) (local.get $d)) (local.get $v))) (local.get $g)))))
        (local.set $i (i32x4.trunc_sat_f32x4_s (local.get $d)))
        ;; |d - previous d|, the previous of lane 0 being lane 3 of the step before
        (local.set $g
          (i32x4.abs
            (i32x4.sub (local.get $i)
              (i8x16.shuffle 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 (local.get $previous) (local.get $i)))))
        (local.set $between
          (i32x4.min_u (local.get $between)
            (v128.bitselect (local.get $none) (local.get $g) (i32x4.eq (local.get $g) (v128.const i32x4 0 0 0 0)))))
        (local.set $g (i32x4.abs (local.get $i)))
        (local.set $fromZero
          (i32x4.min_u (local.get $fromZero)
            (v128.bitselect (local.get $none) (local.get $g) (i32x4.eq (local.get $g) (v128.const i32x4 0 0 0 0)))))
        (local.set $previous (local.get $i))
        (v128.store64_lane 0 (local.get $out) (i16x8.narrow_i32x4_s (local.get $i) (local.get $i)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (br_if $done (v128.any_true (local.get $miss)))
        (br_if $step (local.tee $quads (i32.sub (local.get $quads) (i32.const 1))))))
    (v128.store offset=0 (local.get $res) (local.get $miss))
    (v128.store offset=16 (local.get $res) (local.get $wide))
    (v128.store offset=32 (local.get $res) (local.get $between))
    (v128.store offset=48 (local.get $res) (local.get $fromZero)))

  ;; --- The DICOM decoder: 16-bit interleaved samples to Float32 leads. ---

  ;; deint16(ptr, stride, quads, oa, ob, oc, od, sa, sb, sc, sd): four neighbouring channels of little-endian signed
  ;; 16-bit frames (`stride` bytes apart, the first at ptr), four frames per step, out to four Float32 rows:
  ;; out = f32(raw) * s + 0 (+ 0 turns -0 into +0, as the float64 formula does). Exact only where s is a Float32
  ;; and the offset 0 (see SimdKernels.deinterleaveInt16).
  (func (export "deint16")
    (param $ptr i32) (param $stride i32) (param $quads i32)
    (param $oa i32) (param $ob i32) (param $oc i32) (param $od i32)
    (param $sa f32) (param $sb f32) (param $sc f32) (param $sd f32)
    (local $next i32)
    ;; frames 0 and 1, frames 2 and 3 (one frame's four channels per 64-bit lane)
    (local $v v128) (local $w v128)
    ;; channels a and b of the four frames as i16x8 [a0..a3 b0..b3]; c and d likewise
    (local $ab v128) (local $cd v128)
    (local $vsa v128) (local $vsb v128) (local $vsc v128) (local $vsd v128) (local $zero v128)
    (local.set $vsa (f32x4.splat (local.get $sa)))
    (local.set $vsb (f32x4.splat (local.get $sb)))
    (local.set $vsc (f32x4.splat (local.get $sc)))
    (local.set $vsd (f32x4.splat (local.get $sd)))
    (local.set $zero (v128.const f32x4 0 0 0 0))
    (block $done
      (br_if $done (i32.eqz (local.get $quads)))
      (loop $step
        ;; two frames per vector: the 8 bytes at ptr (lane 0) and at ptr + stride (lane 1); ptr moves two frames on
        (local.set $next (i32.add (local.get $ptr) (local.get $stride)))
        (local.set $v (v128.load64_lane 1 (local.get $next) (v128.load64_zero (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $next) (local.get $stride)))
        (local.set $next (i32.add (local.get $ptr) (local.get $stride)))
        (local.set $w (v128.load64_lane 1 (local.get $next) (v128.load64_zero (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $next) (local.get $stride)))
        (local.set $ab
          (i8x16.shuffle 0 1 8 9 16 17 24 25 2 3 10 11 18 19 26 27 (local.get $v) (local.get $w)))
        (local.set $cd
          (i8x16.shuffle 4 5 12 13 20 21 28 29 6 7 14 15 22 23 30 31 (local.get $v) (local.get $w)))
        (v128.store (local.get $oa)
          (f32x4.add
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $ab))) (local.get $vsa))
            (local.get $zero)))
        (v128.store (local.get $ob)
          (f32x4.add
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $ab))) (local.get $vsb))
            (local.get $zero)))
        (v128.store (local.get $oc)
          (f32x4.add
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $cd))) (local.get $vsc))
            (local.get $zero)))
        (v128.store (local.get $od)
          (f32x4.add
            (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $cd))) (local.get $vsd))
            (local.get $zero)))
        (local.set $oa (i32.add (local.get $oa) (i32.const 16)))
        (local.set $ob (i32.add (local.get $ob) (i32.const 16)))
        (local.set $oc (i32.add (local.get $oc) (i32.const 16)))
        (local.set $od (i32.add (local.get $od) (i32.const 16)))
        (br_if $step (local.tee $quads (i32.sub (local.get $quads) (i32.const 1))))))))
