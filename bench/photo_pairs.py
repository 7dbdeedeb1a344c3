"""The (photo, result) pairs a bench script is given: PHOTO RESULT ...
on the command line, or --eval DIR, run-eval.sh's folder of
X.content.png beside X.png."""
import glob
import os


def photo_pairs(argv):
    if len(argv) == 2 and argv[0] == "--eval":
        return [(c, c[:-len(".content.png")] + ".png")
                for c in sorted(glob.glob(os.path.join(argv[1], "*.content.png")))]
    return list(zip(argv[0::2], argv[1::2]))
