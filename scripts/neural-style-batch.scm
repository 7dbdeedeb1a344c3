; GIMP Neural Style - batch mode, in GIMP 2.10 and GIMP 3.
;
; (neural-style-batch "in/*.jpg" "out-dir" "style" alpha beta)
; stylizes every file matching the pattern (file-glob) with
; plug-in-neural-style and saves each result under the same file name in
; out-dir, in the format its extension names.  Headless:
;   gimp-console-2.10 -i \
;     -b '(neural-style-batch "in/*.jpg" "out" "/path/to/style.jpg" 1.0 1.0)' \
;     -b '(gimp-quit 0)'
; style is a preset name, an image file or "layer:ID" (see the procedure's
; help).  To blend two presets:
;   (neural-style-batch-blend "in/*.jpg" "out" "preset-a" "preset-b" 0.3 1.0 1.0)

;(neural-style-batch ...) goes on past a file it cannot read or stylize,
; processes the files in name order and ends with the message
; "neural-style-batch: N done, M failed: a.png, b.jpg"; it returns
; (N M names).  A truncated PNG or JPEG is refused before it is loaded (GIMP
; would load the part that is there), so no half image is ever written.

; The calls GIMP 3 changed (files by path alone, drawables as a vector,
; object arrays without their length, saving without a drawable); only the
; branch of the running GIMP is evaluated.
(define neural-style-batch-gimp3?
  (>= (string->number (car (strbreakup (car (gimp-version)) "."))) 3))

(define (neural-style-batch-load file)
  (if neural-style-batch-gimp3?
      (car (gimp-file-load RUN-NONINTERACTIVE file))
      (car (gimp-file-load RUN-NONINTERACTIVE file file))))

; what plug-in-neural-style takes: the selected drawables (3), the active one (2.10)
(define (neural-style-batch-drawables image)
  (if neural-style-batch-gimp3?
      (car (gimp-image-get-selected-drawables image))
      (car (gimp-image-get-active-drawable image))))

(define (neural-style-batch-indexed? image)
  (= (car (if neural-style-batch-gimp3?
              (gimp-image-get-base-type image)
              (gimp-image-base-type image)))
     INDEXED))

(define (neural-style-batch-n-layers image)
  (if neural-style-batch-gimp3?
      (vector-length (car (gimp-image-get-layers image)))
      (car (gimp-image-get-layers image))))

(define (neural-style-batch-glob pattern)
  (if neural-style-batch-gimp3?
      (let ((files (car (file-glob pattern 1))))
        (if (vector? files) (vector->list files) files))
      (cadr (file-glob pattern 1))))

(define (neural-style-batch-save image file)
  (if neural-style-batch-gimp3?
      (gimp-file-save RUN-NONINTERACTIVE image file -1)
      (gimp-file-save RUN-NONINTERACTIVE image
                      (car (gimp-image-get-active-drawable image)) file file)))

(define (neural-style-batch-basename path)
  (let loop ((parts (strbreakup path DIR-SEPARATOR)))
    (if (null? (cdr parts)) (car parts) (loop (cdr parts)))))

; insertion sort: file-glob returns directory order
(define (neural-style-batch-sort names)
  (define (insert x sorted)
    (if (or (null? sorted) (string<? x (car sorted)))
        (cons x sorted)
        (cons (car sorted) (insert x (cdr sorted)))))
  (let loop ((rest names) (sorted '()))
    (if (null? rest) sorted (loop (cdr rest) (insert (car rest) sorted)))))

(define (neural-style-batch-gif? path)
  (let ((n (string-length path)))
    (and (>= n 4) (member (substring path (- n 4) n) '(".gif" ".GIF" ".Gif")))))

(define (neural-style-batch-join names)
  (let loop ((rest (cdr names)) (text (car names)))
    (if (null? rest) text (loop (cdr rest) (string-append text ", " (car rest))))))

; the image being processed, so a failed file's image can be closed
(define neural-style-batch-image -1)

(define (neural-style-batch-one in-file out-dir style style2 mix alpha beta)
  (plug-in-neural-style-check-file RUN-NONINTERACTIVE in-file)
  (let* ((image (neural-style-batch-load in-file))
         (out-file (string-append out-dir DIR-SEPARATOR
                                  (neural-style-batch-basename in-file))))
    (set! neural-style-batch-image image)
    ; The plug-in refuses indexed images (GIF, some PNG): work in RGB.
    (if (neural-style-batch-indexed? image)
        (gimp-image-convert-rgb image))
    (plug-in-neural-style RUN-NONINTERACTIVE image
                          (neural-style-batch-drawables image)
                          style alpha beta 0 FALSE 0 FALSE style2 mix)
    ; Formats like JPEG hold one layer: save what is visible.
    (if (> (neural-style-batch-n-layers image) 1)
        (gimp-image-merge-visible-layers image CLIP-TO-IMAGE))
    ; GIF holds only indexed colours: back to a palette of the result
    (if (neural-style-batch-gif? out-file)
        (gimp-image-convert-indexed image CONVERT-DITHER-FS
                                    CONVERT-PALETTE-GENERATE 255 FALSE FALSE ""))
    (neural-style-batch-save image out-file)
    (gimp-image-delete image)
    (set! neural-style-batch-image -1)
    out-file))

(define (neural-style-batch-blend pattern out-dir style style2 mix alpha beta)
  (let ((files (neural-style-batch-sort (neural-style-batch-glob pattern)))
        (done 0)
        (failed '()))
    (if (null? files)
        (error (string-append "neural-style-batch: no file matches " pattern)))
    (for-each
      (lambda (in-file)
        (let ((out (catch #f (neural-style-batch-one in-file out-dir style style2
                                                     mix alpha beta))))
          (if out
              (begin
                (set! done (+ done 1))
                (gimp-message (string-append "neural-style-batch: " out)))
              (begin
                (set! failed (cons (neural-style-batch-basename in-file) failed))
                (if (and (>= neural-style-batch-image 0)
                         (= (car (gimp-image-is-valid neural-style-batch-image)) TRUE))
                    (gimp-image-delete neural-style-batch-image))
                (set! neural-style-batch-image -1)))))
      files)
    (set! failed (reverse failed))
    (gimp-message (string-append "neural-style-batch: " (number->string done)
                                 " done, " (number->string (length failed))
                                 " failed"
                                 (if (null? failed) ""
                                     (string-append ": " (neural-style-batch-join failed)))))
    (list done (length failed) failed)))

(define (neural-style-batch pattern out-dir style alpha beta)
  (neural-style-batch-blend pattern out-dir style "" 0.0 alpha beta))

(script-fu-register "neural-style-batch"
  "Neural Style batch"
  "Stylizes every file matching a glob pattern with plug-in-neural-style and saves each result under the same name in an output folder"
  "GIMP Neural Style contributors"
  "GIMP Neural Style contributors"
  "2026"
  ""
  SF-STRING     "Input pattern"        "*.jpg"
  SF-DIRNAME    "Output folder"        ""
  SF-STRING     "Style (preset, image path or layer:ID)" ""
  SF-ADJUSTMENT "Content weight alpha" '(1 0 1000000 0.1 1 3 1)
  SF-ADJUSTMENT "Style weight beta"    '(1 0 1000000 0.1 1 3 1))
