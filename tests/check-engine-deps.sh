#!/bin/sh
# The engine must stay free of GIMP, GTK, GDK and GEGL.
dir=${1:?engine dir}
bad=$(grep -nE '#[[:space:]]*include[[:space:]]*[<"](libgimp|gtk/|gdk/|gdk-pixbuf/|gegl|babl)' "$dir"/*.c "$dir"/*.h)
if [ -n "$bad" ]; then
  echo "engine/ includes a GUI header:"; echo "$bad"; exit 1
fi
echo "1..1"; echo "ok 1 engine includes only GLib and OpenBLAS"
