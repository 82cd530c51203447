"""Text processing: normalisation, tokens, sentences, candidate phrases (English and Chinese)."""

from .candidates import candidate_occurrences, candidate_phrases, candidate_spans, corpus_candidates
from .evidence import Evidence, phrase_evidence
from .language import detect_language
from .normalize import normalize, normalize_label
from .sentences import split_sentences
from .stopwords import CHINESE_STOPWORDS, ENGLISH_STOPWORDS, NEGATIONS
from .tokenize import chinese_tokens, english_tokens, tokenize

__all__ = [
    "CHINESE_STOPWORDS",
    "Evidence",
    "ENGLISH_STOPWORDS",
    "NEGATIONS",
    "candidate_phrases",
    "candidate_occurrences",
    "candidate_spans",
    "chinese_tokens",
    "corpus_candidates",
    "detect_language",
    "english_tokens",
    "normalize",
    "normalize_label",
    "phrase_evidence",
    "split_sentences",
    "tokenize",
]
