"""Tag categories of seed 001's Table II (genre, instrument, personal, era, mood, location), with
keyword rules that extend the paper's hand-made lists to other Last.fm-style tags; the rest is
"other"."""

from __future__ import annotations

import re
from collections.abc import Sequence

TABLE_II = {
    "genre": ["hip-hop", "acoustic", "alternative", "alternative rock", "blues", "classic rock", "country", "dance", "electronic",
              "electronica", "experimental", "folk", "hard rock", "indie", "indie rock", "jazz", "metal", "pop", "punk", "rock", "soul"],
    "instrument": ["instrumental", "guitar", "female vocalist", "female vocalists", "male vocalists"],
    "personal": ["awesome", "favorite", "favourites", "favorites", "love", "cool", "seen live", "singer-songwriter"],
    "era": ["00s", "70s", "80s", "90s"],
    "mood": ["oldies", "ambient", "chillout", "chill", "mellow", "party", "beautiful", "easy listening", "sexy", "catchy"],
    "location": ["american", "british"],
}
CATEGORIES = (*TABLE_II, "other")

_RULES = [
    ("era", re.compile(r"\b(\d0s|\d0's|19\d\d|20\d\d|19\d0s|20\d0s|oldies|old school)\b")),
    ("location", re.compile(r"\b(american|british|uk|usa|canadian|australian|swedish|german|french|irish|scottish|english|"
                            r"latin|spanish|italian|japanese|korean|brazilian|african|jamaican|canada|california)\b")),
    ("personal", re.compile(r"(\b(favou?rites?|favs?|faves|love[ds]?|awesome|cool|seen live|great|best|amazing|good|my|like|perfect|"
                            r"nice|guilty pleasures?|masterpiece|brilliant|legend|sing along)\b|<3)")),
    ("instrument", re.compile(r"\b(vocal(s|ist|ists)?|voice|singer|female|male|guitar|piano|instrumental|bass|drums?|sax(ophone)?|"
                              r"violin|strings|acoustic guitar|rapper|duet)\b")),
    ("genre", re.compile(r"\b(rock|pop|hip.?hop|rap|r&b|rnb|soul|funk|jazz|blues|country|folk|metal|punk|indie|electro\w*|"
                         r"dance|house|techno|trance|disco|reggae|ska|grunge|emo|alternative|classic|gospel|soundtrack|"
                         r"new wave|britpop|motown|crunk|dubstep|acoustic|experimental|singer-songwriter|ballads?|christian|worship|"
                         r"contemporary|psychedelic|top 40)\b")),
    ("mood", re.compile(r"\b(chill|mellow|sad|happy|party|sexy|catchy|beautiful|relax(ing)?|romantic|upbeat|energetic|calm|"
                        r"dark|melancholy|melancholic|emotional|feel good|easy listening|easy|ambient|sweet|soft|summer|fun|"
                        r"memories|epic|nostalgi[ac]|uplifting|slow|smooth|heavy|lovely|powerful|angry|inspirational|driving|hot)\b")),
]


def categorize(tags: Sequence[str]) -> list[str]:
    """The category of each tag: Table II where it lists the tag, else the first keyword rule that
    matches (era, location, personal, instrument, genre, mood), else "other"."""
    listed = {t: c for c, members in TABLE_II.items() for t in members}
    out = []
    for tag in tags:
        t = tag.strip().lower()
        out.append(listed.get(t) or next((c for c, rule in _RULES if rule.search(t)), "other"))
    return out
