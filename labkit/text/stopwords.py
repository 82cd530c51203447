"""Stopword lists for candidate phrases.

The English list holds function words only (articles, pronouns, auxiliaries, prepositions,
conjunctions, fillers). Generic lists such as the Glasgow list also drop content words that are
music labels ("thin", "thick", "fire", "full", "empty"), so the kit keeps its own.
"""

ENGLISH_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't could couldn't did didn't do does doesn't
    doing don't down during each either else ever every few for from further had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself just let's may me might more most
    must mustn't my myself neither nor of off on once only or other ought our ours ourselves out
    over own same shall shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll they're
    they've this those through to too under until up upon us very was wasn't we we'd we'll we're
    we've were weren't what what's when when's where where's which while who who's whom why why's
    will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
    no not nor without non
    also like really quite rather just even still yet maybe perhaps something anything everything
    one ones get gets got s t
    """.split()
)

# Negations may open a label ("no voices", "non vocal", "without drums"), though they are stopwords.
NEGATIONS = frozenset({"no", "not", "non", "without"})

CHINESE_STOPWORDS = frozenset(
    """
    的 了 是 在 我 你 他 她 它 们 我们 你们 他们 这 那 这个 那个 就 都 也 还 和 与 及 或 而 但 但是 因为 所以 如果
    一个 一 不 没 没有 很 太 更 最 又 再 吧 吗 呢 啊 呀 哦 嗯 哈 哈哈 啦 嘛 么 之 于 以 被 把 给 让 对 从 向 到 着 过
    得 地 会 能 要 想 说 有 个 什么 怎么 这么 那么 自己 这样 那样 就是 还是 真的 觉得 一样 一直 已经 可以 每次 时候 里 中 上 下
    """.split()
)
