"""Context rules: when is a number in a chat message a reply code, and when is it not.

Precision beats recall: a number counts only in a context that says "this is a code" (a
pasted reply line, "got 553", "error 10060", "550 error", "what does 226 mean?") and never
next to words that say it is a count, a time, money, a port, a ticket or a version.
"""

from __future__ import annotations

import re
import string
from typing import Final, NamedTuple

from bot.text import regex_factored, regex_reversed

# The module's constants are `Final`: compiled (bot/native.py), the engine then reads them as C
# statics instead of looking each one up in the module's namespace at every use.

# Words that make the number right after them something else: "port 550", "PR #425", "$530".
_REJECT_BEFORE_SOURCE: Final = (
    r"(?:[#$€£¥+@/\\.,:=_~^*]|[a-z0-9]-|\b(?:port|ports|pid|line|lines|room|ticket|issue|pr|"
    r"case|build|version|ver|order|invoice|step|page|row|id|ext|extension|rfc|number|no|inc|"
    r"chg|ref|job|batch|approx|approximately|about|around|over|under|nearly|than|of|total|"
    r"count|size|sized|top|item|col|column|chapter|section|figure|table|pin|zip|suite|apt|"
    r"flight|bus|route|channel|vlan|uid|gid|mode|chmod|umask|at|by|until|til|till|from|to|"
    r"before|after|since|every|each|per|only|just|like|maybe|some|all|another|last|first|"
    r"next|rev|revision|commit|sprint|week|day|year|q[1-4]|v|x|kb|article|sku|model|"
    r"cve|bug|story|epic|task|incident|change|request|ticket#|pr#|range|to|and|or|plus|"
    r"minus|times|divided|multiplied|score|rank|rating|level|tier|floor|gate|seat|"
    r"unit|highway|street|st|ave|avenue|road|rd|exit|vs|versus|"
    r"(?:count|total|number|tally|score|sum|amount|balance|volume)(?:\s+\w+){0,2}|(?:postal|zip|area|post|"
    r"country|dial|promo|discount|coupon|voucher|tracking|product|item|part|course|class|"
    r"room|door|access|pin|otp|verification|confirmation|booking|reference|ref|order)\s+"
    r"(?:code|number|no)|was|were|is\s+now|are\s+now|hit\s+(?:a\s+)?(?:high|peak|record)\s+of)"
    r"\s*[:#]?\s*)$"
)

# What after the number makes it a quantity, a range or a unit: "530 users", "550 MB", "425-430".
_REJECT_AFTER_SOURCE: Final = (
    r"^(?:%|[.,:/]\d|-\d|x\d|'s\b|(?:st|nd|rd|th)\b|\s*(?:%|percent|k\b|ms\b|milliseconds?|"
    r"s\b|secs?\b|seconds?|mins?\b|minutes?|hrs?\b|hours?|days?|weeks?|months?|years?|"
    r"[kmgt]i?b\b|[kmgt]b/s|bytes?|px|am\b|pm\b|usd|eur|gbp|dollars?|euros?|bucks|users|"
    r"people|persons?|folks|files|rows?|records?|tickets?|items?|messages|lines?|times\b|"
    r"connections|sessions|requests|jobs|hosts|servers|clients|customers|accounts|"
    r"devices?|emails?|mails?|calls?|points?|pages?|words?|chars?|characters?|entries|"
    r"objects?|issues?|prs?|commits?|tests?|errors?\s+(?:in|per|over|across|since|today|"
    r"yesterday|this|last|a|an|every|total)|of\b|out\s+of|\+|more|less|fewer|left|remaining|"
    r"total|in\s+total|licen[cs]es?|seats?|nodes?|instances?|vms?|cores?|cpus?|threads?|"
    r"workers?|transfers?\s+(?:a|per|today|yesterday|this|last)|downloads?\s+(?:a|per|today)|"
    r"uploads?\s+(?:a|per|today)|new\b|open\b|closed\b|pending\b|queued\b|stars?|votes?|"
    r"likes?|views?|visits?|hits?\b|km|miles?|meters?|feet|ft\b|kg|lbs?|degrees?|°|"
    r"(?:active|concurrent|open|idle|simultaneous|parallel|unique|daily|monthly|weekly|extra|"
    r"successful|new|old|total|inbound|outbound|running|stuck|queued|pending|"
    r"failed(?!\s+to\b))\s+[a-z]+s)\b)"
)

# Markers that make a line a pasted server reply: "< 550 ...", "Response: 550 ...".
_REPLY_MARKER_SOURCE: Final = (
    r"(?:^|[\s\]\)>|])(?:<|<--|<-|->|response:|reply:|resp:|server:|error:|status:|answer:|"
    r"(?:ftplib\.)?error_(?:perm|temp|reply|proto):|ftp>|\*\*\*|received:|recv:|<<<|"
    r"webexception:|ftpexception:|exception:)\s*$"
)
_TIMESTAMPISH: Final = re.compile(r"^[\s\[\(]*[\d\-/:.,tz+ ]*[\]\)]?\s*(?:\(\d+\)\s*)?$")

_KEYWORD_BEFORE_SOURCE: Final = (
    r"\b(?:errors?|err|code|reply|replies|response|resp|status|returned|returns|returning|"
    r"got|gets?|getting|receives?|received|receiving|throws?|threw|throwing|gives?|gave|"
    r"giving|shows?|showing|says?|saying|said|fails?|failed|failing|failure|ftp|ftps|sftp|"
    r"http|https|winsock|wsa|denied|refused|rejected|rejects|hit|hits|hitting|seeing|seen|"
    r"message|exception|raised|raises|sends?|sent|responds?|responded|answers?|answered|"
    r"winerror|socketexception|socket\s+error|throwing\s+up|spits?\s+out|spitting\s+out|"
    r"comes?\s+back\s+with|came\s+back\s+with|ends?\s+with|ended\s+with|stuck\s+on|"
    r"occurred|occurs|triggered|triggers|reports?|reported|logged|logs|log\s+shows|"
    r"(?:dies|died|die|dying|crash(?:es|ed)?|aborts?|aborted|stops?|stopped|breaks?|broke|"
    r"bails?|bailed|errors?\s+out|errored(?:\s+out)?)\s+with)"
    r"(?:\s+(?:a|an|the|this|that|error|errors|code|reply|response|status|ftp|ftps|sftp|"
    r"http|back|me|us|with|of|number|server|socket|winsock|wsa|again|now|still|always|"
    r"constantly|sometimes|intermittent|intermittently|random|an?\s+ftp|upload|download|"
    r"transfer|login|list|listing|put|get|command|retr|stor|cwd|mkd|rmd|dele|rnfr|rnto|"
    r"auth|pasv|epsv|port|eprt|rest|appe|size|mdtm|opts|feat|pass|user|on|for|in|when|"
    r"while|during|after|attempt|request|operation|action|directory|file))*"
    r"\s*(?:[:#=(\[]|no\.|nr\.?)?\s*[\"'(\[]?\s*$"
)
_KEYWORD_AFTER_SOURCE: Final = (
    r"^[\"')\]]?\s*(?:-\s*)?(?:errors?\b(?!\s+(?:in|per|over|across|since|today|yesterday|"
    r"this|last|a|an|every|total)\b)|err\b|reply\b|response\b|code\b|status\b|fault\b|"
    r"exception\b|failure\b|returned\b|from\s+the\s+server|from\s+server|"
    # "550 on upload", "413 when uploading", "426 on the 4 GB files": a code, then the action.
    r"(?:on|when|while|during|for|after|with|from)\s+(?:the\s+|a\s+|an\s+|every\s+|each\s+|"
    r"my\s+|our\s+|their\s+|some\s+|all\s+|big\s+|large\s+|\d+\s*[kmgt]i?b\s+)*"
    r"(?:upload|download|transfer|put|get|mput|mget|stor|retr|list|ls|dir|cd|cwd|mkdir|mkd|"
    r"rmdir|rmd|delete|dele|rename|rnfr|rnto|login|log\s+in|connect|pasv|epsv|port|auth|"
    r"webdav|sftp|ftps?|file|files|folder|directory|every\s+file|big\s+files|large\s+files)"
    r"\w*)"
)
_ASK_BEFORE_SOURCE: Final = (
    r"(?:\bwhat(?:'s|s|\s+is|\s+does|\s+do|\s+are|\s+about|\s+causes|\s+means)|meaning\s+of|"
    r"\bexplain|\banyone\s+(?:seen|know|familiar\s+with|seen\s+an?)|\bever\s+seen|"
    r"\bdefine|definition\s+of|\blook\s*up|/ftpcode|\bhow\s+(?:do\s+i|to|can\s+i)\s+fix|"
    r"\bwhy\s+(?:do|does|am|are|is|would)\s+(?:i|we|it|the\s+\w+|my\s+\w+|our\s+\w+)\s+"
    r"(?:get|see|getting|seeing|receive|show|return)|\bhelp\s+with|\binfo\s+on|\bis|\bmeans)"
    r"(?:\s+(?:an?|the|this|that|error|code|reply|response|status|ftp|ftps|sftp|http|"
    r"winsock|socket|return|server))*\s*[:#]?\s*[\"'(]?\s*$"
)
_ASK_AFTER_SOURCE: Final = (
    r"^[\"')]?\s*(?:\?|mean\b|means\b|meaning\b|stands?\s+for|signif|indicates?|"
    r"(?:an?\s+)?(?:error|problem|issue|failure|bad|normal|ok|okay|fatal|warning|success)\b|"
    r"(?:an?\s+)?(?:error|code|reply|response|status)\s*\?|(?:in|for)\s+(?:ftp|ftps|sftp|"
    r"winsock)\b|$)"
)
_SOLE: Final = re.compile(
    r"^\s*(?:(?:ftp|ftps|sftp|http|https|winsock|socket|error|code|reply|status|response)"
    r"\s+)*#?\s*-?\d{1,5}\s*\??\s*$"
)


# The patterns above that end at the number ("$") are tried at every position when searched;
# their reversed forms are matched once, at the start of the reversed text before the number.
_REJECT_BEFORE_BACK: Final = re.compile(regex_reversed(_REJECT_BEFORE_SOURCE))
_REPLY_MARKER_BACK: Final = re.compile(regex_reversed(_REPLY_MARKER_SOURCE))
_KEYWORD_BEFORE_BACK: Final = re.compile(regex_reversed(_KEYWORD_BEFORE_SOURCE))
_ASK_BEFORE_BACK: Final = re.compile(regex_reversed(_ASK_BEFORE_SOURCE))
# The patterns matched at the start of the text after a number, alternatives factored: the
# same matches with fewer alternatives tried.
_REJECT_AFTER: Final = re.compile(regex_factored(_REJECT_AFTER_SOURCE))
_KEYWORD_AFTER: Final = re.compile(regex_factored(_KEYWORD_AFTER_SOURCE))
_ASK_AFTER: Final = re.compile(regex_factored(_ASK_AFTER_SOURCE))
# The words just before a number that can make it something else: at most 40 characters back.
_REJECT_REACH: Final = 40

# Most patterns cannot match most numbers, and `re` takes longer to find that out than the
# rest of the judging takes. Each pattern ends (before the number) or starts (after it) with a
# word from a short list, with nothing but spaces and punctuation between that word and the
# number and no word character (\w) on the word's far side. `_last_word` and `_first_word` find
# that word when the text around it is plain, and a pattern is tried only if its list has the
# word. The lists below hold every word each pattern's alternatives can end (start) with: one
# missing would lose matches, so a word added to a pattern goes into its list too.
# ASCII characters that are no word characters: what may sit between a word and a number.
_NOT_WORD: Final = string.whitespace + string.punctuation.replace("_", "")
# `_REJECT_BEFORE_SOURCE`: the characters that reject on their own just before the number, and
# those that do before a "-" ("v2-550").
_REJECT_MARKS: Final = frozenset("#$€£¥+@/\\.,:=_~^*")
_ASCII_ALNUM: Final = frozenset(string.ascii_lowercase + string.digits)
# Its words, bar the counts, which any two words may follow ("count of files 550").
_REJECT_LAST_WORDS: Final = frozenset(
    """
    port ports pid line lines room ticket issue pr case build version ver order invoice step
    page row id ext extension rfc number no inc chg ref job batch approx approximately about
    around over under nearly than of total count size sized top item col column chapter
    section figure table pin zip suite apt flight bus route channel vlan uid gid mode chmod
    umask at by until til till from to before after since every each per only just like
    maybe some all another last first next rev revision commit sprint week day year q1 q2 q3
    q4 v x kb article sku model cve bug story epic task incident change request range and or
    plus minus times divided multiplied score rank rating level tier floor gate seat unit
    highway street st ave avenue road rd exit vs versus code was were now
    """.split()
)
# `_ASK_BEFORE_SOURCE`: the last words of its questions ("what's" ends in "s") and fillers.
_ASK_LAST_WORDS: Final = frozenset(
    """
    s whats is does do are about causes means of explain seen know with a an define up lookup
    ftpcode fix get see getting seeing receive show return on the this that error code reply
    response status ftp ftps sftp http winsock socket server
    """.split()
)
# `_KEYWORD_BEFORE_SOURCE`: its keywords that are one word. With nothing but spaces after them,
# they match on their own.
_KEYWORDS_ALONE: Final = frozenset(
    """
    error errors err code reply replies response resp status returned returns returning got
    get gets getting receive receives received receiving throw throws threw throwing give
    gives gave giving show shows showing say says saying said fail fails failed failing
    failure ftp ftps sftp http https winsock wsa denied refused rejected rejects hit hits
    hitting seeing seen message exception raised raises send sends sent respond responds
    responded answer answers answered winerror socketexception occurred occurs triggered
    triggers report reports reported logged logs
    """.split()
)
# Its last words: those keywords, the last words of the longer ones ("spits out", "ends
# with") and of the fillers after them. Its "no." and "nr." may join the word before
# ("errorno. 550"), so words ending so count too.
_KEYWORD_LAST_WORDS: Final = _KEYWORDS_ALONE | frozenset(
    """
    up out with on a an the this that back me us of number server socket again now still
    always constantly sometimes intermittent intermittently random upload download transfer
    login list listing put command retr stor cwd mkd rmd dele rnfr rnto auth pasv epsv port
    eprt rest appe size mdtm opts feat pass user for in when while during after attempt
    request operation action directory file
    """.split()
)
_KEYWORD_JOINED: Final = ("no", "nr")
# `_REJECT_AFTER_SOURCE`: the first word of each alternative that may follow spaces.
_REJECT_FIRST_WORDS: Final = frozenset(
    """
    percent k ms millisecond milliseconds s sec secs second seconds min mins minute minutes
    hr hrs hour hours day days week weeks month months year years kb kib mb mib gb gib tb tib
    byte bytes px am pm usd eur gbp dollar dollars euro euros bucks users people person
    persons folks files row rows record records ticket tickets item items messages line lines
    times connections sessions requests jobs hosts servers clients customers accounts device
    devices email emails mail mails call calls point points page pages word words char chars
    character characters entries object objects issue issues pr prs commit commits test tests
    error errors of out more less fewer left remaining total in licence licences license
    licenses seat seats node nodes instance instances vm vms core cores cpu cpus thread
    threads worker workers transfer transfers download downloads upload uploads new open
    closed pending queued star stars vote votes like likes view views visit visits hit hits
    km mile miles meter meters feet ft kg lb lbs degree degrees active concurrent idle
    simultaneous parallel unique daily monthly weekly extra successful old inbound outbound
    running stuck failed
    """.split()
)
# The first characters of its alternatives right at the number ("550%", "550's", "1st"), of
# those that need a digit next ("2.5", "10x5"), and of those past the spaces that start with
# no word character ("550 %").
_REJECT_AT_NUMBER: Final = frozenset("%'stnr")
_REJECT_BEFORE_DIGIT: Final = frozenset(".,:/-x")
_REJECT_SIGNS: Final = frozenset("%+°")
# `_KEYWORD_AFTER_SOURCE`: the first word of each alternative.
_KEYWORD_FIRST_WORDS: Final = frozenset(
    "error errors err reply response code status fault exception failure returned from on "
    "when while during for after with".split()
)
# `_REPLY_MARKER_SOURCE`: the last character of each marker ("<", "-->", "error:", "***").
_MARKER_ENDS: Final = frozenset("<->:*")
# `_TIMESTAMPISH`: the characters it allows besides spaces and digits (\d: str.isdecimal), so
# what the stripped text before the number must start with for it to match.
_TIMESTAMP_CHARS: Final = frozenset("[(-/:.,tz+ ])")


def _last_word(before: str) -> str | None:
    """The last word of `before`, past its last space, when only ASCII punctuation and spaces
    follow it: "" if `before` has none of its own, None if unsure (other characters)."""
    head = before.rstrip(_NOT_WORD)
    word = head[head.rfind(" ") + 1 :]
    return word if word.isalnum() or not word else None


def _first_word(after: str) -> str | None:
    """The first word of `after`, past its spaces, when ASCII punctuation or a space ends it:
    "" if `after` is all spaces, None if unsure (other characters)."""
    rest = after.lstrip()
    word = rest.partition(" ")[0].rstrip(_NOT_WORD)
    return word if word.isalnum() or not rest else None


def _names_a_count(before: str) -> bool:
    """Whether `before` holds a count word of `_REJECT_BEFORE_SOURCE`, which may be followed
    by two more words of any kind ("total of 3 files 550") and so escapes `_last_word`."""
    return (
        "count" in before
        or "total" in before
        or "number" in before
        or "tally" in before
        or "score" in before
        or "sum" in before
        or "amount" in before
        or "balance" in before
        or "volume" in before
    )


def _names_a_question(before: str) -> bool:
    """Whether `before` may hold a question of `_ASK_BEFORE_SOURCE`: each holds one of these,
    whatever words come after it ("why do i get", "what is the ftp code")."""
    return (
        "is" in before
        or "what" in before
        or "mean" in before
        or "how" in before
        or "why" in before
        or "explain" in before
        or "anyone" in before
        or "ever" in before
        or "defin" in before
        or "look" in before
        or "ftpcode" in before
        or "help" in before
        or "info" in before
    )


# A question about a code says what it asks: "... mean?", "is it an error", "normal?".
_ASKING_WORDS_SOURCE: Final = (
    r"\b(?:mean|means|meaning|an?\s+(?:error|problem|issue|failure)|normal|bad|ok|okay|"
    r"serious|fatal|harmless|ftp|ftps|sftp|log|reply|response|code)\b"
)
_ASKING_WORDS: Final = re.compile(regex_factored(_ASKING_WORDS_SOURCE))
_NEXT_WORD: Final = re.compile(r"^\s+([a-z]{3,})\b")
# Words ending in "s" that are not plural nouns, so may follow a code in a reply or a question.
_NOT_PLURAL: Final = frozenset(
    "always sometimes perhaps unless regardless keeps says means fails returns shows happens "
    "comes goes gets makes does has was is this thus seems looks appears occurs persists "
    "repeats continues remains exists needs requires works runs stops hangs breaks dies "
    "times pass process access address status bytes less unless success various tls dns "
    "ssl https ftps sftps eos ios".split()
)


def _is_plural_noun(after: str, word: str | None) -> bool:
    """Whether the word after a number reads as a plural noun: "10091 chats", "421 sessions";
    `word` is `_first_word(after)`."""
    if word is None:
        found = _NEXT_WORD.match(after)
        text = "" if found is None else found.group(1)
    elif (
        word.endswith("s")  # as a plural must: the cheapest test first
        and after[:1].isspace()
        and len(word) >= 3
        and word.isascii()
        and word.isalpha()
        and word.islower()
    ):
        text = word  # what `_NEXT_WORD` finds: letters (lower case) right after the spaces
    else:
        return False
    return (
        text.endswith("s")
        and not text.endswith(("ss", "us", "is", "ous"))
        and text not in _NOT_PLURAL
    )


class NumberContext(NamedTuple):
    """Why a number reads as a code: how sure, whether it was asked about, its reply text."""

    confidence: float
    asked: bool
    reply_text: str
    reply_line: bool
    # Found mid-sentence with nothing but its own words to vouch for it.
    mid_line: bool = False
    # Preceded by a question ("what does 215 ..."): asked, if the words after fit the code.
    ask_before: bool = False


def _rejected_before(before: str, word: str | None) -> bool:
    """Whether the words just before a number make it something else (`_REJECT_BEFORE_SOURCE`);
    `word` is `_last_word(before)`."""
    last = before[-1:]
    if last in _REJECT_MARKS or (last == "-" and before[-2:-1] in _ASCII_ALNUM):
        return True  # the pattern's first two alternatives: a match one or two characters long
    if word is not None and word not in _REJECT_LAST_WORDS and not _names_a_count(before):
        return False
    found = _REJECT_BEFORE_BACK.match(before[::-1])
    if found is None:
        return False
    if found.end() <= _REJECT_REACH:
        return True
    # The reversed match reaches further back than the forward search looks; ask that search.
    forward = re.compile(_REJECT_BEFORE_SOURCE)  # rare: compiled here, then from re's cache
    return forward.search(before, max(0, len(before) - _REJECT_REACH)) is not None


def _keyword_before(before: str, backwards: str, word: str | None) -> bool:
    """Whether a keyword ends `before` (`_KEYWORD_BEFORE_SOURCE`): "got 550", "error code: 550";
    `backwards` is `before` reversed and `word` is `_last_word(before)`."""
    if word is None:
        return _KEYWORD_BEFORE_BACK.match(backwards) is not None
    if word in _KEYWORDS_ALONE and before.rstrip().endswith(word):
        return True  # a keyword with only spaces after it matches: no fillers or marks needed
    if word in _KEYWORD_LAST_WORDS or word.endswith(_KEYWORD_JOINED):
        return _KEYWORD_BEFORE_BACK.match(backwards) is not None
    return False


def _rejected_after(after: str, word: str | None) -> bool:
    """Whether the words just after a number make it something else (`_REJECT_AFTER_SOURCE`);
    `word` is `_first_word(after)`."""
    first = after[:1]
    if first in _REJECT_AT_NUMBER or (first in _REJECT_BEFORE_DIGIT and after[1:2].isdecimal()):
        return _REJECT_AFTER.match(after) is not None  # "550%", "1st", "2.5", "10x5" ...
    if word is not None:
        return word in _REJECT_FIRST_WORDS and _REJECT_AFTER.match(after) is not None
    # Past the spaces, no plain word: the pattern needs a sign there, or a word character.
    sign = after.lstrip()[:1]
    if sign in _REJECT_SIGNS or sign.isalnum() or sign == "_":
        return _REJECT_AFTER.match(after) is not None
    return False


def judge_number(text: str, start: int, end: int) -> NumberContext | None:
    """Judge the number at text[start:end] (text is lower case); None when it is no code."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    if line_end < 0:
        line_end = len(text)
    before = text[max(line_start, start - 80) : start]
    after = text[end : min(line_end, end + 160)]
    first_word = _first_word(after)
    last_word = _last_word(before)
    if _rejected_after(after, first_word) or _rejected_before(before, last_word):
        return None
    if (
        line_start == 0
        and line_end == len(text)
        and after.strip() in ("", "?")  # what `_SOLE` allows after its number
        and _SOLE.match(text)
    ):
        return NumberContext(0.9, True, "", False)
    if _is_plural_noun(after, first_word):
        return None
    backwards = before[::-1]
    # Each pattern below is tried only when the words or characters it needs are there.
    ask_before = (
        (last_word is None or last_word in _ASK_LAST_WORDS)
        and _names_a_question(before)
        and _ASK_BEFORE_BACK.match(backwards) is not None
    )
    # The words after matter only beside a question before, or with a "?" close after.
    if ask_before or (len(after) < 40 and "?" in after):
        ask_after = _ASK_AFTER.match(after) is not None
        asked = ask_before and ask_after
        ask_before = asked or (ask_before and bool(_ASKING_WORDS.search(after)))
        asked = asked or (ask_after and "?" in after[:40] and len(after) < 40)
    else:
        asked = False
    reply_text = ""
    reply_line = False
    confidence = 0.0
    mid_line = False
    if after[:1] in (" ", "-", "") and after[:2] != " -":
        stripped = before.strip()
        if (stripped[-1:] in _MARKER_ENDS and _REPLY_MARKER_BACK.match(backwards)) or (
            (stripped[:1] in _TIMESTAMP_CHARS or stripped[:1].isdecimal())
            and _TIMESTAMPISH.match(stripped)
        ):
            reply_line, confidence = True, 0.95
        elif not stripped or stripped.endswith(":"):
            reply_line = True  # a bare "550 ..." line: the caller checks the reply's words
        elif after[:1] == " " and after[1:2].isalpha():
            # "... then 530 Login incorrect": the reply's words decide, strictly unless asked.
            reply_line, mid_line = True, not ask_before
        if reply_line:
            reply_text = after[1:].strip() if after[:1] in (" ", "-") else ""
    # A keyword can raise the confidence to 0.9 (before) or 0.88 (after), which a question
    # (0.9 below) or a surer reply line makes moot; before, it may also give the reply text.
    sure = asked or ask_before or confidence >= 0.9
    if (not sure or (not reply_text and after[:1] == " ")) and _keyword_before(
        before, backwards, last_word
    ):
        confidence = max(confidence, 0.9)
        if not reply_text and after[:1] == " ":
            reply_text = after[1:].strip()
        sure = True
    if (
        not sure
        and (first_word is None or first_word in _KEYWORD_FIRST_WORDS)
        and _KEYWORD_AFTER.match(after.lstrip(" "))
    ):
        confidence = max(confidence, 0.88)
    if asked or ask_before:
        asked = True
        confidence = max(confidence, 0.9)
    if confidence == 0.0 and not reply_line:
        return None
    # The same NamedTuple as NumberContext(...) makes, without its generated __new__: Python
    # code, even when the engine is compiled, that costs about as much again.
    return tuple.__new__(
        NumberContext, (confidence, asked, reply_text, reply_line, mid_line, ask_before)
    )


_QUESTION: Final = re.compile(
    r"\?|^\s*(?:what|whats|why|how|is|does|do|can|could|explain|meaning)\b|"
    r"\b(?:what\s+(?:does|do|is|are)|what's|meaning\s+of|explain|anyone\s+(?:seen|know))\b"
)


def is_question(text: str) -> bool:
    """Whether a (lower-case) message asks something, so informational codes are welcome."""
    return _QUESTION.search(text) is not None
