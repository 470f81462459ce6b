#!/usr/bin/env bash
# Fetches the photographs the shipped models were trained on, from their public sources:
#
# - BSDS500 (Arbelaez et al., "Contour Detection and Hierarchical Image Segmentation", PAMI 2011),
#   from Berkeley's site: its train and test images (400 JPEGs of 481x321), the classic
#   "BSD400" training set of SR papers. For research use, as Berkeley publishes it.
# - Photographs inside Debian packages (wallpapers, test data, documentation), downloaded
#   with apt-get without installing anything: every file of the list below. Each package's
#   licence is its Debian copyright file's (weights/MODEL_CARD.md lists them).
#
#   tools/fetch_photos.sh OUT          # OUT/bsds400/*.jpg, OUT/photos/PACKAGE__NAME.*
#
# Then tools/prepare_photos.py makes the training and validation folders. Needs curl and tar,
# and for the Debian photos a Debian or Ubuntu system with apt-get and dpkg-deb (about 355 MB
# of packages; apt-get update needs root, or set SKIP_APT_UPDATE=1).
set -euo pipefail
out=${1:?usage: fetch_photos.sh OUT}
mkdir -p "$out/bsds400" "$out/photos" "$out/.debs"
out=$(cd "$out" && pwd)

bsds=https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/BSR/BSR_bsds500.tgz
if [ -z "$(ls "$out/bsds400")" ]; then
  curl -fL "$bsds" -o "$out/.debs/BSR_bsds500.tgz"
  tar -xzf "$out/.debs/BSR_bsds500.tgz" -C "$out/.debs" BSR/BSDS500/data/images
  cp "$out"/.debs/BSR/BSDS500/data/images/{train,test}/*.jpg "$out/bsds400/"
fi

# Package, then the photograph's path inside it. opencv-doc's text/scenetext01-06.jpg are
# validation photographs now (tools/validation.tsv), so they are not here; none of them was
# ever a training image (under 1.5 Mpixel: tools/prepare_photos.py leaves them out).
list=$(cat <<'LIST'
plasma-workspace-wallpapers usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/Grey/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/Kite/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/Path/contents/images/2560x1600.jpg
plasma-workspace-wallpapers usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/Aqua.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/Blinds.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/Dune.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/FreshFlower.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/Garden.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/GreenMeadow.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/LadyBird.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/RainDrops.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/Storm.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/TwoWings.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/Wood.jpg
mate-backgrounds usr/share/backgrounds/mate/nature/YellowFlower.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/Dragonfly_by_Bolly.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/Picture_0B_by_freespace.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/Picture_1A_by_freespace.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/analogpattern_by_Peter_Nerlich.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/free_by_Peter_Nerlich.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/greentock_by_Peter_Nerlich.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg
lomiri-wallpapers-16.04 usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg
lomiri-wallpapers-20.04 usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg
lomiri-wallpapers-20.04 usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg
digikam-data usr/share/digikam/about/images/body-background.jpg
palapeli-data usr/share/palapeli/collection/castle-maintenon.jpg
palapeli-data usr/share/palapeli/collection/cincinnati-bridge.jpg
palapeli-data usr/share/palapeli/collection/citrus-fruits.jpg
palapeli-data usr/share/palapeli/collection/european-honey-bee.jpg
palapeli-data usr/share/palapeli/collection/panther-chameleon-female.jpg
libjxl-testdata usr/share/libjxl-testdata/jxl/flower/flower.png
libjxl-testdata usr/share/libjxl-testdata/external/wesaturate/500px/cvo9xd_keong_macan_srgb8.png
libjxl-testdata usr/share/libjxl-testdata/external/wesaturate/500px/tmshre_riaphotographs_srgb8.png
libjxl-testdata usr/share/libjxl-testdata/external/wesaturate/500px/u76c0g_bliznaca_srgb8.png
python3-skimage usr/lib/python3/dist-packages/skimage/data/astronaut.png
python3-skimage usr/lib/python3/dist-packages/skimage/data/coffee.png
python3-skimage usr/lib/python3/dist-packages/skimage/data/chelsea.png
python3-skimage usr/lib/python3/dist-packages/skimage/data/rocket.jpg
python3-skimage usr/lib/python3/dist-packages/skimage/data/motorcycle_left.png
python3-skimage usr/lib/python3/dist-packages/skimage/data/motorcycle_right.png
python3-skimage usr/lib/python3/dist-packages/skimage/data/camera.png
python3-skimage usr/lib/python3/dist-packages/skimage/data/ihc.png
opencv-doc usr/share/doc/opencv-doc/examples/data/aero1.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/aero3.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/aloeL.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/apple.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/baboon.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/board.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/building.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/butterfly.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/chicky_512.png
opencv-doc usr/share/doc/opencv-doc/examples/data/ela_original.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/fruits.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/graf1.png
opencv-doc usr/share/doc/opencv-doc/examples/data/graf3.png
opencv-doc usr/share/doc/opencv-doc/examples/data/home.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/left.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/leuvenA.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/leuvenB.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/messi5.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/orange.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/rubberwhale1.png
opencv-doc usr/share/doc/opencv-doc/examples/data/smarties.png
opencv-doc usr/share/doc/opencv-doc/examples/data/squirrel_cls.jpg
opencv-doc usr/share/doc/opencv-doc/examples/data/stuff.jpg
opencv-doc usr/share/doc/opencv-doc/examples/hfs/data/000.jpg
opencv-doc usr/share/doc/opencv-doc/examples/hfs/data/001.jpg
opencv-doc usr/share/doc/opencv-doc/examples/hfs/data/002.jpg
opencv-doc usr/share/doc/opencv-doc/examples/dnn_superres/butterfly.png
opencv-doc usr/share/doc/opencv-doc/examples/alphamat/input_images/plant.jpg
opencv-doc usr/share/doc/opencv-doc/examples/reg/home.png
LIST
)
packages=$(echo "$list" | cut -d' ' -f1 | sort -u)
[ -n "${SKIP_APT_UPDATE:-}" ] || apt-get update -qq
(cd "$out/.debs" && apt-get download $packages)
echo "$list" | while read -r package path; do
  deb=$(ls "$out/.debs/${package}_"*.deb | head -1)
  x="$out/.debs/x/$package"
  [ -d "$x" ] || { mkdir -p "$x"; dpkg-deb -x "$deb" "$x"; }
  # The name keeps the package and the path, so that every source gives a distinct file.
  name=$(echo "$path" | sed -e 's#^usr/share/##' -e 's#^usr/lib/python3/dist-packages/##' \
    -e 's#/contents/images##' | tr / _)
  cp "$x/$path" "$out/photos/${package}__${name}"
done
rm -rf "$out/.debs/x"
echo "$(ls "$out/bsds400" | wc -l) BSDS photos, $(ls "$out/photos" | wc -l) Debian photos in $out"
