"""The helpdesk: entrants' questions answered from a contest's rules, its notice and an FAQ.

Three sources per contest, searched together:

* **facts** made from the preset (``contests/presets/<id>.yaml``): the numbers the dialog
  enforces, so an answer about sizes, durations, dates or quotas states exactly what the checks
  will accept (:mod:`.facts`);
* **clauses** of the notice's own text (``contests/notices/<id>.md``), quoted with their place
  in it, and an **FAQ** (``contests/faq/<id>.yaml``, overridable per entry from
  ``DATA_DIR/faq/<id>.yaml``) (:mod:`.sources`).

Retrieval is BM25 (:mod:`.index`) over jieba tokens after synonym normalisation
(:mod:`.analyzer`).  The confidence of the best entry is the share of the question's
informative words it covers (idf-weighted), raised when the question's intent (大小, 截止,
名额 …) is exactly what a structured fact answers.  Below ``DEFAULT_THRESHOLD`` the helpdesk
says it is unsure and the question goes to the organisers' operators; so does an entry that
only records the notice's silence (:mod:`.answer`).

Searching is synchronous and CPU-bound (jieba loads its dictionary on first use, about a
second): ``Helpdesk.ask_async`` runs ``Helpdesk.ask`` in a thread.  :mod:`.service` is the use
case around it: answers, tickets for the operators, and their replies relayed to the entrant.
"""
