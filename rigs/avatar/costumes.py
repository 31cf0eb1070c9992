"""Costumes = outfits (sets of garment parts) x colour palettes; 16 outfits x 5 palettes = 80 costumes.

A palette maps material names to linear RGB; it is stored as the JSON custom property ``palette`` of the
costume's collection (docs/rigs.md) and applied by the renderer while that costume renders.
"""
from __future__ import annotations

# (outfit name, garment parts); every outfit has exactly one hair style
OUTFITS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("schoolgirl", ("Hair_Long", "Top_Sailor", "Collar_Sailor", "Ribbon_Neck", "Skirt_Mini", "Socks_Knee", "Shoes_Sneakers")),
    ("casual", ("Hair_Bob", "Top_TShirt", "Bottom_Shorts", "Shoes_Sneakers")),
    ("sporty", ("Hair_Ponytail", "Top_Tank", "Bottom_Shorts", "Socks_Knee", "Shoes_Sneakers")),
    ("summer", ("Hair_Long", "Dress_Sundress", "Hat_Sun", "Shoes_Sneakers")),
    ("idol", ("Hair_Twintails", "Dress_Short", "Ribbon_Head", "Socks_Knee", "Shoes_Boots")),
    ("street", ("Hair_Short", "Top_Hoodie", "Bottom_Pants", "Shoes_Sneakers")),
    ("office", ("Hair_Bob", "Top_Blouse", "Skirt_Long", "Shoes_Boots")),
    ("artist", ("Hair_Bob", "Top_Blouse", "Bottom_Pants", "Hat_Beret", "Shoes_Sneakers")),
    ("hero", ("Hair_Short", "Top_TShirt", "Bottom_Pants", "Cape_Short", "Shoes_Boots")),
    ("mage", ("Hair_Long", "Dress_Short", "Cape_Short", "Hat_Beret", "Shoes_Boots")),
    ("tennis", ("Hair_Ponytail", "Top_TShirt", "Skirt_Mini", "Socks_Knee", "Shoes_Sneakers")),
    ("picnic", ("Hair_Twintails", "Top_Tank", "Skirt_Long", "Hat_Sun", "Shoes_Sneakers")),
    ("winter", ("Hair_Long", "Top_Hoodie", "Skirt_Mini", "Shoes_Boots", "Hat_Beret")),
    ("ribbon", ("Hair_Ponytail", "Dress_Sundress", "Ribbon_Head", "Shoes_Boots")),
    ("sailor_boy", ("Hair_Short", "Top_Sailor", "Collar_Sailor", "Bottom_Shorts", "Socks_Knee", "Shoes_Sneakers")),
    ("knight", ("Hair_Twintails", "Top_Blouse", "Bottom_Pants", "Cape_Short", "Ribbon_Head", "Shoes_Boots")),
)

# colour families, linear RGB
_HAIR = [(0.30, 0.14, 0.06), (0.02, 0.02, 0.03), (0.85, 0.62, 0.25), (0.95, 0.45, 0.62), (0.25, 0.45, 0.90),
         (0.80, 0.80, 0.86), (0.55, 0.20, 0.08), (0.35, 0.85, 0.70), (0.60, 0.40, 0.85)]
_EYES = [(0.10, 0.25, 0.65), (0.45, 0.15, 0.05), (0.10, 0.50, 0.25), (0.55, 0.10, 0.45), (0.70, 0.45, 0.05),
         (0.60, 0.08, 0.10)]
_CLOTH = [(0.95, 0.95, 0.95), (0.08, 0.09, 0.14), (0.80, 0.10, 0.14), (0.12, 0.22, 0.60), (0.95, 0.70, 0.15),
          (0.20, 0.55, 0.30), (0.92, 0.50, 0.65), (0.50, 0.30, 0.75), (0.35, 0.70, 0.90), (0.55, 0.35, 0.20),
          (0.95, 0.85, 0.70), (0.45, 0.47, 0.52), (0.10, 0.45, 0.45), (0.98, 0.40, 0.20)]

PALETTES_PER_OUTFIT = 5


def _garment_materials() -> dict[str, str]:
    from .garments import GARMENTS
    return {g.name: g.material for g in GARMENTS}


def costumes() -> list[tuple[str, tuple[str, ...], dict[str, list[float]]]]:
    """[(costume name, garment object names, palette {material: [r, g, b]})], deterministic."""
    mats = _garment_materials()
    out = []
    for oi, (outfit, parts) in enumerate(OUTFITS):
        for k in range(PALETTES_PER_OUTFIT):
            j = oi * PALETTES_PER_OUTFIT + k
            pal: dict[str, list[float]] = {
                "Hair": list(_HAIR[(oi + 2 * k) % len(_HAIR)]),
                "Brow": [c * 0.6 for c in _HAIR[(oi + 2 * k) % len(_HAIR)]],
                "Eye_Iris": list(_EYES[(oi + k) % len(_EYES)]),
            }
            ci = 0
            for part in parts:
                m = mats[part]
                if m in pal:
                    continue
                pal[m] = list(_CLOTH[(3 * j + 5 * ci + oi) % len(_CLOTH)])
                ci += 1
            out.append((f"{outfit}_{k + 1}", parts, {m: [round(c, 3) for c in v] for m, v in pal.items()}))
    return out
