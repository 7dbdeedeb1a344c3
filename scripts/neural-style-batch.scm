; GIMP Neural Style - batch mode.
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

(define (neural-style-batch-basename path)
  (let loop ((parts (strbreakup path DIR-SEPARATOR)))
    (if (null? (cdr parts)) (car parts) (loop (cdr parts)))))

(define (neural-style-batch-one in-file out-dir style style2 mix alpha beta)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE in-file in-file)))
         (out-file (string-append out-dir DIR-SEPARATOR
                                  (neural-style-batch-basename in-file))))
    ; The plug-in refuses indexed images (GIF, some PNG): work in RGB.
    (if (= (car (gimp-image-base-type image)) INDEXED)
        (gimp-image-convert-rgb image))
    (plug-in-neural-style RUN-NONINTERACTIVE image
                          (car (gimp-image-get-active-drawable image))
                          style alpha beta 0 0 0 0 style2 mix)
    ; Formats like JPEG hold one layer: save what is visible.
    (let ((drawable (if (> (car (gimp-image-get-layers image)) 1)
                        (car (gimp-image-merge-visible-layers image
                                                              CLIP-TO-IMAGE))
                        (car (gimp-image-get-active-drawable image)))))
      (gimp-file-save RUN-NONINTERACTIVE image drawable out-file out-file))
    (gimp-image-delete image)
    out-file))

(define (neural-style-batch-blend pattern out-dir style style2 mix alpha beta)
  (let ((files (cadr (file-glob pattern 1))))
    (if (null? files)
        (error (string-append "neural-style-batch: no file matches " pattern)))
    (for-each
      (lambda (in-file)
        (gimp-message (string-append "neural-style-batch: "
                                     (neural-style-batch-one in-file out-dir
                                                             style style2 mix
                                                             alpha beta)))
      )
      files)
    (length files)))

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
