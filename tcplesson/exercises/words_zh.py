"""练习题的全部中文文字：检查答案时的提示，以及每道题的标题、题设、问题、提示和解析。

Key for key with words_en.py (``MESSAGES`` and ``QUESTIONS``; ``str.format`` fields are the same).
State names stay the RFC's (SYN-SENT, TIME-WAIT …); where a sentence introduces one, the textbook
name (谢希仁《计算机网络》, tcplesson/labels_zh.py) may stand beside it.
"""

MESSAGES = {
    # --- 题目与反馈 ---
    "heading": "{label}. {title}（第 {number} 课 {lesson}）",
    "answer_with": "请回答{wanted}。",
    "correct": "{label} 正确。{explanation}",
    "head": "{label}（{title}）",
    "unanswered": "{head}还没有作答：把答案单元格里的 ... 换成{wanted}。",
    "wrong": "{head}：{note}",
    "expected": "要求：回答“{asks}”，答案是{wanted}。",
    "hint": "提示：{hint}",
    "see": "参见第 {number} 课 {lesson}。",
    "reveal": "本变体的正确答案：{shown}。",
    # --- 数字 ---
    "number.wanted": "一个整数，例如 1234",
    "number.wanted_s": "一个以秒为单位的时间，例如 2.35",
    "number.shown_s": "{value:.3f} 秒",
    "number.type": "答案必须是数字（{wanted}），而不是 {type} {answer}。",
    "number.finite": "答案必须是有限的数字，而不是 {answer}。",
    "number.whole": "序号、确认号和个数都是整数，而不是 {answer}。",
    "number.trap": "{answer} 不对：{note}",
    "number.wrong": "{answer} 不对。",
    # --- 状态 ---
    "state.wanted": "一个状态名，例如 \"FIN-WAIT-1\"",
    "state.unknown": "{answer} 不是状态名；请写其中之一：{names}。",
    "state.means": "{state} 的意思是“{meaning}”。",
    "state.wrong": "{state} 不对：{note}",
    # --- 选择题 ---
    "choice.wanted": "一个字母，例如 \"b\"",
    "choice.letters": "请用字母 {letters} 之一作答，而不是 {answer}。",
    "choice.wrong": "（{letter}）不对：{note}",
    "list_sep": ", ",
    # --- 各题共用的词 ---
    "side.client": "客户端",
    "side.server": "服务器",
    "handshake.1": "SYN",
    "handshake.2": "SYN,ACK",
    "handshake.3": "ACK",
    "release.4": "客户端的 FIN",
    "release.5": "服务器对这个 FIN 的 ACK",
    "release.6": "服务器的 FIN",
    "release.7": "客户端的最后一个 ACK",
    # --- 评分报告 ---
    "grade.unreadable": "无法读取这个笔记本：{error}",
    "grade.missing": "这道题缺少{parts}单元格",
    "grade.and": "、",
    "grade.changed_check": "检查单元格被改动了；它必须是：{source}",
    "grade.cell_failed": "{kind}单元格{result}：{message}",
    "grade.role.ask": "题目",
    "grade.role.answer": "答案",
    "grade.role.check": "检查",
    "grade.result.failed": "出错",
    "grade.result.skipped": "被跳过",
    "grade.result.not run": "没有运行",
    "grade.variant_form": "变体单元格只能是发下来时的 ex = Sheet(seed=...)",
    "grade.variant_changed": "变体单元格被改动了：{call}",
    "grade.variant_other": "变体从 seed {released} 改成了 {seed}：这些答案属于另一个变体",
    "grade.outputs_differ": "它的输出与保存的输出不同（笔记本是不是在另一次运行之后保存的？）",
}

QUESTIONS = {
    # ------------------------------------------------------------ 第 01 课
    "fin-seq-wrap": {
        "title": "跨过 2**32 回绕时 FIN 的序号",
        "setting": "客户端的初始序列号 ISN 是 {isn}。握手之后，它发送 {n} 字节数据，然后关闭自己这一方向。",
        "asks": "客户端的 FIN 报文段带的序号是多少？",
        "trap.no_wrap": "序号只有 32 位：4294967295 之后是 0，所以要按模 2**32 计算。",
        "trap.no_syn": "SYN 本身也占一个序号，排在第一个数据字节之前。",
        "trap.one_more": "FIN 带的是它自己占用的那个序号；再加一是对这个 FIN 的确认号。",
        "hint": "SYN 占用 ISN，每个数据字节依次占用下一个序号，FIN 占用最后一个字节之后的那个序号；"
                "全部按模 2**32 计算（RFC 9293 第 3.4 节）。",
        "explanation": "SYN 占用 ISN，数据占用接下来的 n 个序号，FIN 带的是再下一个序号，按模 2**32 计算。",
    },
    # ------------------------------------------------------------ 第 02 课
    "synack-ack": {
        "title": "SYN,ACK 的确认号",
        "setting": "客户端的 ISN 是 {client_isn}，服务器的 ISN 是 {server_isn}。",
        "asks": "服务器发出的 SYN,ACK 带的确认号是多少？",
        "trap.client_isn": "这是客户端的 ISN 本身；SYN 占用一个序号，所以服务器下一个期望收到的是 ISN + 1。",
        "trap.third": "这是客户端的 ACK（第三个报文段）所确认的号；SYN,ACK 确认的是客户端的 SYN。",
        "trap.server_isn": "这是服务器自己的 ISN，是 SYN,ACK 的序号 seq，不是它的确认号 ack。",
        "hint": "确认号是发送方期望从对方收到的下一个序号（RFC 9293 第 3.4 节）。",
        "explanation": "SYN 占用一个序号，所以服务器确认的是客户端的 ISN + 1。",
    },
    "handshake-loss-open": {
        "title": "握手报文段丢失后，连接何时建立",
        "setting": "单向时延是 {delay} 秒，初始重传超时 RTO 是 {rto} 秒。握手的第 {lost} 个报文段 {name} 丢失了；"
                   "下表列出到这次丢失为止的过程。",
        "asks": "{who}在什么时刻进入 ESTABLISHED？",
        "trap.no_loss": "这是没有丢失时建立连接的时刻；丢失的报文段只有在重传计时器超时后才会重发。",
        "trap.own_ack": "客户端不用等自己的 ACK 到达：SYN,ACK 一到，它就认为连接已建立。",
        "trap.travel": "计时器超时之后，重发的报文段和对它的回答还要在链路上传送。",
        "hint": "想一想：谁在等一个永远不会来的回答？那一方的计时器（发出后一个 RTO）会重发它的报文段，"
                "之后握手照常进行。客户端在收到 SYN,ACK 时建立连接，服务器在收到 ACK 时建立连接。",
        "explanation": "丢失的报文段由等待回答的一方在发出后一个 RTO 重发；客户端收到 SYN,ACK 即进入"
                       " ESTABLISHED，服务器收到 ACK 才进入。",
    },
    # ------------------------------------------------------------ 第 03 课
    "old-duplicate-rst": {
        "title": "客户端如何回应旧的重复 SYN",
        "setting": "正在监听的服务器收到一个早先连接请求留下的旧的重复 SYN（seq={stale}），并用 SYN,ACK 回应"
                   "（它的 ISN 是 {server_isn}）。客户端并没有这个连接（它处于 CLOSED），于是用 RST 回答。",
        "asks": "这个 RST 带的序号是多少？",
        "trap.stale": "RST 不是照抄旧 SYN 的序号：它取所回应报文段的确认号，服务器才会接受它。",
        "trap.server_isn": "这是确认服务器的 SYN 时 ack 字段里的值；RST 的 seq 来自 SYN,ACK 的 ack 字段。",
        "trap.zero": "seq=0 只用来回应不带 ACK 的报文段；SYN,ACK 是带 ACK 的。",
        "hint": "RFC 9293 第 3.10.7.1 节：处于 CLOSED 的端点收到 ACK 位为 1 的报文段时，回应 "
                "<SEQ=SEG.ACK><CTL=RST>。SYN,ACK 确认的是哪个号？",
        "explanation": "RST 的序号就是 SYN,ACK 的确认号（旧 SYN 的序号 + 1），所以服务器接受它，回到 LISTEN。",
    },
    "why-three-way": {
        "title": "为什么建立连接要三个报文段",
        "asks": "TCP 为什么用三个报文段而不是两个来建立连接（RFC 9293 第 3.5 节）？",
        "option.old_duplicate": "否则一个旧的重复 SYN 就会打开一个没人请求的连接：有了第三个报文段，客户端用 RST "
                                "回答意料之外的 SYN,ACK，服务器回到 LISTEN。",
        "option.two_cannot": "两个报文段根本建立不了连接：客户端永远到不了 ESTABLISHED。",
        "rebut.two_cannot": "建立得了：用 handshake=\"two-way\" 时，两个报文段之后双方都进入 ESTABLISHED。"
                            "问题在于两次握手会打开哪些连接。",
        "option.third_isn": "客户端只有从第三个报文段才能得知服务器的初始序列号。",
        "rebut.third_isn": "服务器的 ISN 在第二个报文段 SYN,ACK 里就送到了；第三个报文段只是确认它。",
        "option.lost_syn": "没有第三个报文段，丢失的 SYN 就永远不会重发。",
        "rebut.lost_syn": "无论哪种握手，客户端的重传计时器都会重发丢失的 SYN。",
        "hint": "分别用 handshake=\"two-way\" 和正常的握手运行 tl.simulate(\"old-duplicate-syn\")，"
                "比较服务器最后处于什么状态。",
        "explanation": "RFC 9293 第 3.5 节：第三个报文段让客户端能拒绝一个它从没发过的 SYN（旧的重复报文段）"
                       "所对应的 SYN,ACK，服务器就不会为不存在的对方保持连接。",
    },
    # ------------------------------------------------------------ 第 04 课
    "release-state": {
        "title": "四次挥手过程中的状态",
        "setting": "客户端先关闭；服务器在客户端的 FIN 到达 1 秒后关闭。下表列出到释放过程的第 {k} 个报文段"
                   "（#{index}）为止的过程。",
        "asks": "报文段 #{index} 刚到达之后，{who}处于什么状态？",
        "hint": "跟着双方走一遍释放过程：先关闭的一方依次是 FIN-WAIT-1、FIN-WAIT-2、TIME-WAIT；另一方依次是 "
                "CLOSE-WAIT、LAST-ACK、CLOSED。每一步都发生在某个报文段发出或到达的时刻。",
        "explanation": "先关闭的一方：发出 FIN -> FIN-WAIT-1，收到对它的 ACK -> FIN-WAIT-2，收到对方的 FIN -> "
                       "TIME-WAIT。另一方：收到 FIN -> CLOSE-WAIT，发出自己的 FIN -> LAST-ACK，收到最后的 ACK -> "
                       "CLOSED。",
    },
    "release-loss-next": {
        "title": "释放过程中丢失一个报文段之后会怎样",
        "setting": "客户端先关闭；服务器在客户端的 FIN 到达 1 秒后关闭。单向时延 {delay} 秒，初始 RTO {rto} 秒。"
                   "报文段 #{lost}（{name}）丢失了；下表列出到这次丢失为止的过程。",
        "asks": "接下来会发生什么？",
        "option.client_fin": "客户端的重传计时器超时后，它重发自己的 FIN。",
        "rebut.client_fin": "只有当客户端的 FIN 还没被确认、而它的计时器在任何确认到达之前超时，客户端才重发 FIN。",
        "option.server_fin": "服务器的重传计时器超时后，它重发自己的 FIN。",
        "rebut.server_fin": "只有当服务器的 FIN 或者对它的 ACK 丢失时，服务器才重发 FIN。",
        "option.ack_again": "ACK 丢失的那一方在计时器超时后重发这个 ACK。",
        "rebut.ack_again": "没有哪个计时器会重发 ACK：等这个 ACK 的一方会重发本该被它确认的那个报文段。",
        "option.nothing": "什么也不重发：后面的报文段弥补了丢失的那个。",
        "rebut.nothing": "丢失的 FIN，或者对 FIN 唯一的那个 ACK，只有在重传计时器超时之前另有报文段确认了同一个 "
                         "FIN 时才算被弥补。",
        "hint": "想一想哪个报文段还没被确认、是谁发的：那一方的计时器在发出后一个 RTO 超时，除非确认先到"
                "（带 ACK 的 FIN 也算）。",
        "explanation": "只有占用序号的报文段（SYN、数据、FIN）才会在一个 RTO 内没有收到确认时由发送方重发。",
    },
    "release-loss-time": {
        "title": "释放过程中丢失报文段后，重传在何时发出",
        "setting": "客户端先关闭；服务器在客户端的 FIN 到达 1 秒后关闭。单向时延 {delay} 秒，初始 RTO {rto} 秒。"
                   "报文段 #{lost}（{name}）丢失了；下表列出到这次丢失为止的过程。",
        "asks": "第一次重传在什么时刻发出？",
        "trap.doubled": "第一次重传在报文段发出后一个 RTO 发生；RTO 要到下一次才加倍。",
        "trap.arrives": "这是重传报文段到达的时刻；题目问的是它发出的时刻。",
        "trap.ack_timer": "没有计时器会重发 ACK；超时的是那个本该被这个 ACK 确认的 FIN 的计时器。",
        "hint": "计时器跟着等待确认的那个报文段走，从它发出的那一刻开始计时。",
        "explanation": "未被确认的 FIN 由它的发送方在第一次发出后一个 RTO 重发。",
    },
    "half-close-ack": {
        "title": "半关闭之后的最后一个 ACK",
        "setting": "客户端先用 shutdown(SHUT_WR) 关掉自己的发送方向。服务器进入 CLOSE-WAIT 后仍向客户端发送 "
                   "{n} 字节数据（半关闭：另一个方向仍可传数据），然后才关闭。服务器的 ISN 是 {server_isn}。",
        "asks": "客户端最后一个 ACK 带的确认号是多少？",
        "trap.no_fin": "这只确认了数据，没有确认 FIN：FIN 也占一个序号。",
        "trap.no_syn_fin": "服务器的 SYN 占一个序号，它的 FIN 还要再占一个。",
        "trap.no_data": "客户端的 FIN 之后服务器发的那 {n} 字节也要算上：半关闭的连接在另一个方向上照样传数据。",
        "hint": "数一数服务器用掉的序号：它的 SYN、它发的每一个字节（包括客户端 FIN 之后发的）和它的 FIN；"
                "最后一个 ACK 把它们全部确认。",
        "explanation": "半关闭之后另一方还可以发送；它的 SYN、数据和 FIN 都占用序号，最后一个 ACK 把它们全部确认。",
    },
    # ------------------------------------------------------------ 第 05 课
    "time-wait-end": {
        "title": "TIME-WAIT 何时结束",
        "setting": "这次运行中最大报文段寿命 MSL 是 {msl:g} 秒（RFC 规定 120 秒；Linux 固定等待 60 秒）。"
                   "下表列出全部报文段。",
        "asks": "客户端在什么时刻离开 TIME-WAIT（时间等待）？",
        "trap.once": "TIME-WAIT 持续两倍的 MSL。",
        "trap.arrival": "TIME-WAIT 从服务器的 FIN 到达、客户端发出 ACK 时开始，而不是从这个 ACK 到达时开始。",
        "trap.own_fin": "TIME-WAIT 从释放过程结束、对方的 FIN 到达时开始，而不是从客户端发出自己的 FIN 时开始。",
        "trap.rfc_msl": "这次运行的 MSL 是 {msl:g} 秒，不是 RFC 的 120 秒。",
        "hint": "客户端收到服务器的 FIN（并发出最后一个 ACK）时进入 TIME-WAIT，持续 2 x MSL"
                "（RFC 9293 第 3.10.7.4 节）。",
        "explanation": "先关闭的一方在收到对方的 FIN 时进入 TIME-WAIT，停留 2 x MSL。",
    },
    "time-wait-restart": {
        "title": "最后一个 ACK 丢失时的 TIME-WAIT",
        "setting": "MSL = {msl:g} 秒，初始 RTO = {rto} 秒，单向时延 = {delay} 秒。客户端的最后一个 ACK（#7）丢失了；"
                   "下表列出到这次丢失为止的过程。",
        "asks": "客户端在什么时刻离开 TIME-WAIT？",
        "trap.no_restart": "服务器会重发它的 FIN；客户端再次确认它，并重新开始完整的 2MSL 计时"
                           "（RFC 9293 第 3.10.7.4 节，TIME-WAIT 状态）。",
        "trap.no_travel": "重发的 FIN 在第一次发出后一个 RTO 发出，还要经过单向时延才到达客户端。",
        "trap.once": "TIME-WAIT 持续两倍的 MSL。",
        "hint": "谁会发现丢失？什么时候又有报文段到达客户端？处于 TIME-WAIT 的一方收到 FIN 时会做什么？",
        "explanation": "服务器在一个 RTO 后重发 FIN；仍在 TIME-WAIT 的客户端再次确认它，并从这一刻起重新开始 2MSL "
                       "计时。",
    },
    "why-2msl": {
        "title": "为什么要有 TIME-WAIT",
        "asks": "先关闭的一方为什么要在 TIME-WAIT 等待 2 x MSL？",
        "option.last_ack": "如果最后一个 ACK 丢失，对方会重发 FIN，处于 TIME-WAIT 的一方还在，可以再次确认它；"
                           "同时，这个连接的旧的重复报文段也在这段时间里消失。",
        "option.waits_fin": "先关闭的一方在 TIME-WAIT 里等待对方的 FIN。",
        "rebut.waits_fin": "进入 TIME-WAIT 时对方的 FIN 已经到了：等待对方 FIN 的状态是 FIN-WAIT-2。",
        "option.sends_data": "TIME-WAIT 让先关闭的一方把自己的数据发完。",
        "rebut.sends_data": "调用 close() 之后这一方不再发送数据；在 TIME-WAIT 里它只回答重发的 FIN。",
        "option.always_server": "无论哪一方先关闭，TIME-WAIT 总是在服务器一方。",
        "rebut.always_server": "TIME-WAIT 在先关闭的一方：在 \"lifecycle\" 里那是客户端。",
        "hint": "运行 tl.simulate(\"lifecycle\", drop=[7])，再加上 time_wait=0 运行一次，比较服务器看到了什么。",
        "explanation": "TIME-WAIT 让先关闭的一方能再次确认重发的 FIN（最后一个 ACK 可能丢失），而 2 x MSL "
                       "让这个连接的旧报文段在同一对端口被再次使用之前消失。",
    },
    "no-time-wait": {
        "title": "最后一个 ACK 丢失：有 TIME-WAIT 与没有 TIME-WAIT",
        "setting": "客户端的最后一个 ACK（#7）丢失了。这次运行中 TIME-WAIT 的时长为 {length}。",
        "length.none": "0 秒（根本没有 TIME-WAIT）",
        "length.2msl": "2 x MSL = {two_msl:g} 秒",
        "asks": "服务器的应用程序最后看到什么？",
        "option.clean": "正常关闭：连接没有出错地结束。",
        "rebut.clean": "重发的 FIN 必须送到一个还记得这个连接的一方；处于 CLOSED 的端点会用 RST 回答它。",
        "option.reset": "连接被重置：一个 RST 回答了它重发的 FIN。",
        "rebut.reset": "重发的 FIN 到达时客户端还在 TIME-WAIT，所以它用 ACK 而不是 RST 回答。",
        "option.timed_out": "连接超时：它的 FIN 始终得不到确认。",
        "rebut.timed_out": "在服务器放弃之前很久，重发的 FIN 就得到了回答（ACK 或 RST）。",
        "option.forever": "没有结束：服务器永远停在 LAST-ACK。",
        "rebut.forever": "服务器的重传计时器会重发它的 FIN；它不会永远等下去。",
        "hint": "服务器在一个 RTO 后重发 FIN。那时客户端处于什么状态？这个状态的端点怎样回答 FIN？",
        "explanation": "有 TIME-WAIT 时，重发的 FIN 会被再次确认，连接正常关闭；没有 TIME-WAIT 时，客户端已经 "
                       "CLOSED，用 RST 回答（RFC 9293 第 3.10.7.1 节）。",
    },
    "who-time-wait": {
        "title": "哪一方进入 TIME-WAIT",
        "setting": "MSL = {msl:g} 秒。下表列出这次运行的全部报文段。",
        "asks": "在 t = {t:g} 秒时，服务器处于什么状态？",
        "trap.time_wait": "TIME-WAIT 在先关闭的一方；看看第一个 FIN 是谁发的。",
        "trap.closed": "这里是服务器先关闭（第一个 FIN 是它发的），所以要在 TIME-WAIT 等待 2MSL 的是它。",
        "hint": "第一个 FIN 是哪一方发的？那一方最后在 TIME-WAIT 停留 2 x MSL；另一方的 FIN 一被确认就进入 CLOSED。",
        "explanation": "TIME-WAIT 在先关闭的那一方，而不是固定在“客户端”：先关闭的服务器会积累 TIME-WAIT 连接。",
    },
    # ------------------------------------------------------------ 第 06 课
    "next-state": {
        "title": "状态机的一步",
        "setting": "一个端点处于 {state}。这时{words}。",
        "event.simultaneous_close": "到达一个 FIN，它并没有确认本端的 FIN（双方同时关闭）",
        "event.peer_fin": "对方的 FIN 到达",
        "event.simultaneous_open": "到达一个不带 ACK 的 SYN（双方同时打开）",
        "event.rst_passive": "到达一个 RST（这个连接是用 listen() 被动打开的）",
        "event.ack_of_fin": "对本端 FIN 的 ACK 到达",
        "event.valid_rst": "到达一个有效的 RST",
        "event.refused": "到达一个确认了本端 SYN 的 RST",
        "event.close": "它的应用程序调用 close()",
        "event.fin_ack_of_fin": "到达一个 FIN，它同时确认了本端的 FIN",
        "asks": "它转到哪个状态？",
        "hint": "在 RFC 9293 图 5（第 3.3.2 节）或 tl.plot_state_diagram() 里找到这个状态，沿着这个事件的箭头走。",
        "explanation": "TCP 端点的每一次状态变化都是状态图上的一条箭头：（状态，事件）-> 下一个状态。",
    },
    # ------------------------------------------------------------ 第 07 课
    "three-segment-close": {
        "title": "关闭一个连接要几个报文段",
        "setting": "双方都把单独的 ACK 推迟最多 {delayed_ack} 秒，希望把它捎带在后面的报文段上"
                   "（Linux 推迟 40-200 毫秒）。客户端先关闭；服务器的应用程序在客户端的 FIN 到达 {close_after} 秒后"
                   "关闭。",
        "asks": "释放过程在链路上一共有几个报文段（不算握手）？",
        "trap.four": "服务器关闭时，对客户端 FIN 的 ACK 还在等待，于是它捎带在服务器的 FIN 上（FIN,ACK）。",
        "trap.three": "推迟的 ACK 在服务器关闭之前就单独发出去了。",
        "trap.two": "每个 FIN 都需要自己的确认。",
        "hint": "服务器对客户端 FIN 的 ACK 最多等待推迟确认的时间。服务器自己的 FIN 是否在这之前发出，"
                "从而让 ACK 捎带在上面？",
        "explanation": "只要对第一个 FIN 的 ACK 捎带在第二个 FIN 上，“四次挥手”在链路上就只有三个报文段；"
                       "在 Linux 上，服务器读到 EOF 后立即关闭时就是这样。",
    },
    "close-unread": {
        "title": "还有未读数据时调用 close()",
        "setting": "客户端发送 {n} 字节。服务器的应用程序一直没有读取它们，就调用了 close()。",
        "asks": "服务器的 TCP 发出什么？",
        "option.fin": "一个 FIN，和任何关闭一样；未读的字节被悄悄丢掉。",
        "rebut.fin": "FIN 会告诉客户端它发的数据都被收下了；有未读数据时，RFC 9293（SHLD-3）和 Linux 改为发送 RST。",
        "option.rst": "一个 RST：带着未读数据关闭会中止连接，客户端看到“连接被重置”。",
        "option.nothing": "在应用程序读取数据之前什么也不发。",
        "rebut.nothing": "close() 立即生效；应用程序再也不会读这些数据了。",
        "option.send_back": "未读的字节被送回客户端，然后是一个 FIN。",
        "rebut.send_back": "TCP 从不把收到的数据送回去。",
        "hint": "运行一下：用 tl.simulate(..., auto_read=False) 让服务器不读数据就关闭，看它发出的最后一个报文段。",
        "explanation": "带着未读数据关闭会发送 RST 而不是 FIN（RFC 9293 SHLD-3；Linux 也这样做）：对方由此知道"
                       "有数据丢失了。",
    },
    # ------------------------------------------------------------ 408 风格
    "release-state-408": {
        "title": "释放连接的某一步，某一方处于什么状态",
        "setting": "主机甲和主机乙之间有一条 TCP 连接，甲先发起释放（这次运行中甲是{a}，乙是{b}）。{moment}",
        "moment.a_fin_sent": "甲刚刚发出 FIN，还没有收到任何回应。",
        "moment.a_ack_in": "甲发出了 FIN，并收到了乙对它的确认；乙的 FIN 还没有来。",
        "moment.a_fin_in": "甲收到了乙的 FIN，并刚刚发出对它的确认。",
        "moment.b_fin_in": "乙收到了甲的 FIN 并已确认；乙的应用程序还没有关闭。",
        "moment.b_fin_sent": "乙发出了自己的 FIN，对它的确认还没有回来。",
        "moment.b_ack_in": "乙收到了对自己 FIN 的确认。",
        "asks.A": "此时甲处于什么状态？",
        "asks.B": "此时乙处于什么状态？",
        "option": "{state}（{textbook}）",
        "hint": "先关闭的一方依次经过 FIN-WAIT-1（终止等待1，已发出 FIN）、FIN-WAIT-2（终止等待2，FIN 已被确认）、"
                "TIME-WAIT（时间等待，收到了对方的 FIN）；另一方依次经过 CLOSE-WAIT（关闭等待，收到 FIN）、"
                "LAST-ACK（最后确认，发出自己的 FIN）、CLOSED（关闭，自己的 FIN 被确认）。见 RFC 9293 第 3.6 节。",
        "explanation": "状态在发出或收到 FIN、或 FIN 被确认时改变；走哪条路径取决于哪一方先关闭，而不是它是不是客户端。",
    },
    "release-ack-uvw": {
        "title": "用 u、v、w 表示的四次挥手最后一个 ACK",
        "setting": "按教材的记法，客户端先关闭：它的 FIN 报文段 seq=u={u}。服务器用 ACK seq=v={v} ack=u+1 确认它。"
                   "{data}随后服务器发出自己的 FIN，seq=w={w} ack=u+1。",
        "data.none": "服务器不再发送数据。",
        "data.some": "客户端用的是 shutdown(SHUT_WR)，还能继续读：服务器在 CLOSE-WAIT 状态下还发送了 {n} 字节数据（半关闭）。",
        "asks.ack": "客户端回应服务器 FIN 的最后一个 ACK，确认号是多少？",
        "asks.seq": "客户端回应服务器 FIN 的最后一个 ACK，序号是多少？",
        "trap.w": "服务器的 FIN 本身占用一个序号 w；对它的确认号是下一个。",
        "trap.u1": "u + 1 是服务器的报文段确认的号（确认客户端的 FIN）；最后一个 ACK 确认的是服务器的 FIN。",
        "trap.v1": "服务器的数据和 FIN 都在 v 之后：最后一个 ACK 要确认到 w 为止，再加上 FIN 本身。",
        "trap.u": "客户端的 FIN 用掉了序号 u；客户端的下一个报文段带 u + 1。",
        "trap.w1": "w + 1 是最后一个 ACK 的确认号，不是它的序号。",
        "trap.v": "v 是服务器的序号，不是客户端的：ACK 的 seq 是发送方自己的下一个序号。",
        "hint": "每个 FIN 占用一个序号；报文段的 seq 是发送方自己的下一个序号，ack 是它期望从对方收到的下一个序号"
                "（RFC 9293 第 3.4 节）。最后一个 ACK：seq=u+1，ack=？",
        "explanation": "最后一个 ACK 是 seq=u+1（客户端的 FIN 用掉了 u）、ack=w+1（服务器的 FIN 用掉了 w）；"
                       "半关闭期间发送的数据已经算在 w 里了。",
    },
    "close-time-2msl": {
        "title": "从第一个 SYN 到双方都进入 CLOSED",
        "setting": "客户端发起连接（它的 SYN 在 t = 0 发出），进入 ESTABLISHED 后 {open_wait:g} 秒关闭连接；"
                   "服务器的应用程序在客户端的 FIN 到达后 {fin_wait:g} 秒关闭。{link}MSL = {msl:g} 秒。"
                   "没有报文段丢失，也没有推迟确认。",
        "link.delay": "单向传播时延是 {delay} 秒。",
        "link.rtt": "往返时间 RTT 是 {rtt:g} 秒，两个方向相同。",
        "asks": "从第一个 SYN 发出起，经过多少秒双方都进入 CLOSED？",
        "trap.no_2msl": "这是服务器进入 CLOSED 的时刻；先关闭的客户端还要在 TIME-WAIT（时间等待）等 2 x MSL。",
        "trap.one_msl": "TIME-WAIT 持续 2 x MSL，不是一个 MSL。",
        "trap.after_arrival": "TIME-WAIT 从服务器的 FIN 到达、客户端发出最后一个 ACK 时开始，而不是从这个 ACK 到达时"
                              "开始。",
        "trap.from_open": "时间从第一个 SYN 算起，而不是从连接建立时算起。",
        "trap.from_fin": "时间从第一个 SYN 算起，而不是从客户端的 FIN 算起。",
        "trap.no_waits": "双方应用程序在 close() 之前的等待时间也要算上。",
        "trap.rtt_one_way": "RTT 是一个来回：单程只有 RTT / 2。",
        "trap.rfc_msl": "这次运行的 MSL 是 {msl:g} 秒，不是 RFC 的 120 秒。",
        "hint": "一段一段地加：SYN 和 SYN,ACK 到客户端进入 ESTABLISHED，客户端的等待，它的 FIN 到服务器，服务器的等待，"
                "服务器的 FIN 传回来；然后是先关闭一方的 TIME-WAIT（2 x MSL，RFC 9293 第 3.10.7.4 节）。"
                "另一方早就进入 CLOSED 了。",
        "explanation": "先关闭的一方离开 TIME-WAIT 时双方才都进入 CLOSED：也就是对方的 FIN 到达它之后再过 2 x MSL。",
    },
}

# ---------------------------------------------------------------- 第 10 课：监听队列、backlog 与 SYN 洪泛
QUESTIONS.update({
    "accept-queue-admitted": {
        "title": "全连接队列最多放得下几个连接",
        "setting": "服务器调用 listen()，backlog 为 {backlog}，之后从不调用 accept()。{n} 个客户端每隔 {every:g} 秒"
                   "依次发起连接；单向传播时延是 {delay} 秒，所以每次三次握手都在下一个客户端开始之前完成。",
        "asks": "其中有几个客户端能完成三次握手？",
        "trap.limit": "只有当全连接队列的长度大于 backlog 时，Linux 才认为它满了（sk_acceptq_is_full 用的是 >），"
                      "所以还能再多放一个。",
        "trap.everyone": "应用程序不调用 accept()，三次握手照样由内核完成，但前提是全连接队列还有空位；队列一满，"
                         "Linux 就丢掉之后到达的每一个 SYN。",
        "trap.minus_one": "这里没有哪个连接“正在被处理”：应用程序从不调用 accept()，完成握手的连接全都留在全连接"
                          "队列里，而这个队列能放下 backlog + 1 个。",
        "trap.none": "三次握手由内核完成，用不着应用程序：accept() 只是把已经建立好的连接从全连接队列里取走。",
        "hint": "完成三次握手的连接进入全连接队列（accept 队列），等着 accept() 来取。Linux 什么时候认为这个队列"
                "满了？看 include/net/sock.h 里 sk_acceptq_is_full() 用的是哪个比较运算符（第 10 课第 3 节）。",
        "explanation": "只有当全连接队列的长度大于 backlog 时，Linux 才认为它满了（sk_acceptq_is_full 用的是 >），"
                       "所以能完成握手的是 backlog + 1 个；之后到达的 SYN 都被丢掉，那些客户端最后连接超时。",
    },
    "full-queue-client": {
        "title": "全连接队列已满时，connect() 多久之后失败",
        "setting": "服务器调用 listen()，backlog 为 {backlog}，之后从不调用 accept()；它的 tcp_abort_on_overflow "
                   "是 {abort}。{n} 个客户端每隔 {every:g} 秒依次发起连接。单向传播时延是 {delay} 秒，初始重传超时 "
                   "RTO 是 {rto} 秒，每台客户端主机的 tcp_syn_retries 都是 {syn_retries}。",
        "asks": "最后一个客户端 client{n} 连不上。从它调用 connect() 算起，经过多少秒 connect() 失败？",
        "trap.refused": "这只是一个往返时间：只有收到 RST（“连接被拒绝”），connect() 才会失败得这么快。"
                        "全连接队列满时，Linux 把 SYN 悄悄丢掉，什么也不回。",
        "trap.last_syn": "这是最后一个 SYN 发出的时刻；connect() 还要等这个 SYN 的超时到期，才会放弃。",
        "trap.no_backoff": "每个 SYN 只隔一个 RTO 的，只有前 4 次重传（tcp_syn_linear_timeouts）；之后每次超时加倍，"
                           "而且 tcp_syn_retries 是一笔时间预算，不是次数。",
        "trap.rfc_doubling": "这是 RFC 6298 从第一次超时起就加倍的算法。Linux 6.x 的前 4 次重传相隔一个 RTO"
                             "（tcp_syn_linear_timeouts = 4），之后才开始加倍。",
        "trap.linux_default": "这台客户端的 tcp_syn_retries 是 {syn_retries}，不是 Linux 默认的 {default}。",
        "trap.clock": "题目问的是从调用 connect() 算起经过多久，而不是时钟上的时刻。",
        "hint": "SYN 被丢掉时，服务器什么也不回。Linux 6.x 先每隔一个 RTO 重传 SYN，共 4 次"
                "（tcp_syn_linear_timeouts），之后超时时间逐次加倍。某次超时到期时，只要重传次数已用满 "
                "tcp_syn_retries + 4，或者距第一个 SYN 已过了 (2^(tcp_syn_retries+1) - 1) 个 RTO"
                "（按加倍重传 tcp_syn_retries 次所需的时间），connect() 就放弃（net/ipv4/tcp_timer.c "
                "tcp_write_timeout）。tcp_abort_on_overflow 管的是第三次握手的 ACK，不管 SYN（第 10 课第 3、4 节）。",
        "explanation": "遇上已满的全连接队列，SYN 被悄悄丢掉（不发 RST，与 tcp_abort_on_overflow 无关）；客户端先隔"
                       "一个 RTO、再按加倍的超时重传 SYN，时间或次数一用完，connect() 就以“连接超时”（ETIMEDOUT）"
                       "失败，而不是“连接被拒绝”。",
    },
    "syn-cookies-flood": {
        "title": "SYN 洪泛期间，正常的客户端看到什么",
        "setting": "攻击者用不存在的主机地址伪造 SYN：从 t = {start:g} 秒起每秒 {rate:g} 个，持续 {duration:g} 秒。"
                   "服务器的 backlog 为 {backlog}，tcp_syncookies = {cookies}（{meaning}）。洪泛期间有 {n} 个正常的"
                   "客户端发起连接，从 t = {first:g} 秒起每隔 {every:g} 秒一个；单向传播时延是 {delay} 秒。",
        "cookies.0": "不使用 SYN cookie",
        "cookies.1": "半连接队列满时使用 SYN cookie，这是 Linux 的默认值",
        "asks": "这些客户端看到的是什么？",
        "option.one_rtt": "每个客户端都在一个往返时间内连上，就像没有洪泛一样。",
        "rebut.one_rtt": "tcp_syncookies = 0 时，遇上已满的半连接队列的 SYN 一律被丢掉，正常客户端的也不例外；"
                         "只有等到某次重传的 SYN 碰上空位，客户端才能连上。",
        "option.late": "它们的 SYN 因为半连接队列已满而被丢掉：connect() 只能等 SYN 重传，要么晚些才连上，"
                       "要么以“连接超时”失败。",
        "rebut.late": "tcp_syncookies = 1 时，遇上满队列的 SYN 不会被丢掉：服务器用 SYN cookie 回答它，不保存任何"
                      "状态，客户端的 ACK 一到，连接就建立了。",
        "option.refused": "connect() 立刻以“连接被拒绝”失败：服务器对放不下的 SYN 回 RST。",
        "rebut.refused": "过载的 Linux 监听套接字不会为放不下的 SYN 发 RST：没有 cookie 时把它丢掉，有 cookie 时用"
                         " cookie 回答它。谁也看不到“连接被拒绝”。",
        "option.accept_queue": "伪造的 SYN 占满了全连接队列（accept 队列），客户端的连接只能在那里一直等到洪泛结束。",
        "rebut.accept_queue": "伪造的 SYN 永远完成不了三次握手（它们的 SYN,ACK 发往没有主机的地址），所以占满的是"
                              "半连接队列（SYN 队列）；全连接队列里只有完成了握手的连接。",
        "hint": "伪造的 SYN 停在哪个队列里，会不会离开？再想一想：一个遇上满队列的 SYN，服务器在 "
                "tcp_syncookies = 0 和 = 1 时分别怎样处理（第 10 课第 5 节）？",
        "explanation": "伪造的 SYN 占满的是半连接队列，不是全连接队列。没有 cookie 时，Linux 丢掉每一个遇上满队列的"
                       " SYN，正常客户端只能等 SYN 重传；有 cookie 时，它不保存状态地回答这些 SYN，真正的客户端一个"
                       "往返就能连上。谁也不会被拒绝：过载的监听套接字不发 RST。",
    },
})

# ---------------------------------------------------------------- 第 11 课：关闭套接字
QUESTIONS.update({
    "rst-after-close": {
        "title": "close() 之后再来的数据换来的 RST",
        "setting": "服务器的 ISN 是 {server_isn}。三次握手之后，服务器向客户端发送 {k} 字节，客户端都读了；随后服务器"
                   "调用 close()（没有未读数据），它的 FIN 发了出去，也得到了确认。处于 CLOSE-WAIT 的客户端又向服务器"
                   "写了 {n} 字节。",
        "asks": "已经没有人能读这些数据了，于是服务器的 TCP 回一个 RST。这个 RST 的序号是多少？",
        "trap.fin": "这是服务器 FIN 的序号；FIN 自己占用这个序号，客户端的数据确认了它，所以 RST 带的是下一个。",
        "trap.one_more": "RST 取的是它所回答的那个报文段的确认号，自己不再加一（RST 不占序号）。",
        "trap.isn": "ISN 被服务器的 SYN 占用了；它后面还有数据和 FIN。",
        "trap.zero": "只有回答不带 ACK 的报文段时，RST 才用 seq=0；客户端的数据是带 ACK 的。",
        "hint": "RFC 9293 第 3.10.7.1 节：对 ACK 位为 1 的报文段，回答 <SEQ=SEG.ACK><CTL=RST>；数据到达一个已经"
                " close() 的套接字时，Linux 也这样做（第 11 课第 1 节）。客户端的数据报文段确认到哪里？把服务器的"
                " SYN、数据和 FIN 都算上。",
        "explanation": "RST 带的是它所回答的数据的确认号：服务器发过的一切（SYN、数据和 FIN）再加一，正是客户端期待的"
                       "下一个序号，所以客户端接受这个 RST。",
    },
    "orphan-fin-timeout": {
        "title": "孤儿连接的 FIN-WAIT-2 定时器到时",
        "setting": "客户端在没有未读数据时调用 close()；服务器确认了客户端的 FIN，但服务器的应用程序一直不关闭。客户端"
                   "主机的 tcp_fin_timeout = {fin_timeout:g} 秒（3.5 个 RTO 比它短）。客户端的 FIN 到达 {late:g} 秒"
                   "之后，服务器的应用程序向客户端写 1 个字节。单向传播时延是 {delay} 秒。",
        "asks": "客户端的 FIN-WAIT-2 定时器到时时，客户端的 TCP 发出什么？服务器的那个字节又换来什么？",
        "option.nothing": "定时器到时时什么也不发：连接在客户端这边悄悄消失了。之后服务器的字节找不到连接，换来一个 RST。",
        "option.rst_now": "定时器到时时发一个 RST，让服务器马上知道连接已经没了。",
        "rebut.rst_now": "Linux 丢掉孤儿连接时不发任何报文段，而 RFC 9293 根本没有这个定时器：没有谁需要通知。服务器"
                         "要等自己的字节被回答时才知道。",
        "option.fin_again": "再发一次 FIN，作为最后的尝试，然后再等一个 tcp_fin_timeout。",
        "rebut.fin_again": "客户端的 FIN 已经被确认了，所以它才处在 FIN-WAIT-2：没有什么可重传的。",
        "option.time_wait": "什么也不发；客户端进入 TIME-WAIT，所以服务器的字节会被确认。",
        "rebut.time_wait": "只有收到对方的 FIN 之后才进入 TIME-WAIT；没有它，孤儿连接直接进入 CLOSED，发给不存在的"
                           "连接的数据换来 RST（RFC 9293 第 3.10.7.1 节）。",
        "hint": "FIN-WAIT-2 等的是对方的 FIN。客户端的 FIN 被确认之后，还有什么要发？一台主机收到发给它已经没有的连接的"
                "报文段，又怎样回答（RFC 9293 第 3.10.7.1 节；第 11 课第 5 节）？",
        "explanation": "孤儿连接的 FIN-WAIT-2 结束时不发任何报文段：它的 FIN 已被确认，没有东西要发。对方要等下一个"
                       "报文段到达一台已经没有这个连接的主机、换来 RST 时，才会知道。",
    },
    "linger-zero": {
        "title": "把 SO_LINGER 设为 0 之后调用 close()",
        "setting": "客户端的 ISN 是 {isn}。三次握手之后，客户端发送 {m} 字节，全部得到确认；服务器什么也没发。然后客户端"
                   "把 SO_LINGER 设为 {{l_onoff=1, l_linger=0}}，在连接处于 ESTABLISHED 时调用 close()。",
        "asks": "close() 发出什么？之后会怎样？",
        "option.rst": "一个 seq = {seq} 的 RST；双方都没有 TIME-WAIT，服务器的应用程序得到“连接被重置”。",
        "option.rst_plus": "一个 seq = {plus} 的 RST，也就是 FIN 本该占用的序号的下一个；双方都没有 TIME-WAIT。",
        "rebut.rst_plus": "RST 带的是 SND.NXT，即下一个还没用过的序号（RFC 9293 第 3.10.5 节：<SEQ=SND.NXT><CTL=RST>）；"
                          "它取代了 FIN，而不是跟在 FIN 后面。",
        "option.fin": "一个 seq = {seq} 的 FIN，和任何 close() 一样；只是省掉了随后的 TIME-WAIT。",
        "rebut.fin": "linger 时间为 0 时，close() 根本不发 FIN：Linux 中止连接（__tcp_close 调用 tcp_disconnect），"
                     "发的是 RST。",
        "option.rst_time_wait": "一个 seq = {seq} 的 RST，然后客户端在 TIME-WAIT 中等待 2 x MSL，让旧的报文段消失。",
        "rebut.rst_time_wait": "TIME-WAIT 只跟在 FIN 的交换之后；中止会立刻在双方删除连接（RFC 9293 第 3.10.5 节）。",
        "hint": "超时为 0 的 SO_LINGER 把 close() 变成了 RFC 9293 的 ABORT（第 3.10.5 节）。那是什么报文段？带什么"
                "序号？之后进入什么状态（第 11 课第 3 节）？",
        "explanation": "SO_LINGER 为 0 时 close() 中止连接：发的不是 FIN，而是 seq = SND.NXT 的 RST；连接在双方立刻被"
                       "删除，所以谁也没有 TIME-WAIT，对方得到“连接被重置”。",
    },
})

# ---------------------------------------------------------------- 第 11 课下篇：端口与 TIME-WAIT
QUESTIONS.update({
    "tw-reuse-isn": {
        "title": "接管 TIME-WAIT 的新连接用什么 ISN",
        "setting": "一台 Linux 客户端只有一个临时端口（ip_local_port_range = 50000 50000），tcp_tw_reuse = 1，时间戳"
                   "开启。它连接服务器的 80 端口，发送 {m} 字节后先关闭，它的 FIN 的 seq = {fin}。服务器随后也关闭，"
                   "客户端这一侧进入 TIME-WAIT。close() 之后 {later:g} 秒，客户端再次 connect() 到同一个服务器端口。",
        "asks": "唯一的端口正处于 TIME-WAIT，已经超过 tcp_tw_reuse_delay（1 秒），旧连接又用了时间戳，于是 connect()"
                " 接管了这个 TIME-WAIT。新的 SYN 带的序号是多少？",
        "trap.snd_nxt": "这是旧连接的 SND.NXT 本身；Linux 让新连接从它往上再跳 65535 + 2，避开旧连接可能还在路上的"
                        "任何序号。",
        "trap.fin_counts": "FIN 自己占一个序号：旧的 SND.NXT 是 FIN 的 seq + 1，65535 + 2 的间隔还要加在它上面。",
        "trap.window": "间隔是 65535 + 2，不是 65535：内核的 tcp_twsk_unique 函数在旧连接的下一个序号上加的是 65535 再加 2。",
        "trap.old_isn": "新连接绝不会从旧的 ISN 开始：那些序号已经被旧连接用过了。",
        "hint": "看内核 net/ipv4/tcp_ipv4.c 里的 tcp_twsk_unique 函数：新连接的初始序号等于旧连接的 SND.NXT 再加上"
                " 65535 + 2。旧连接发完 FIN 之后，它的 SND.NXT 是多少？（第 11 课第 10 节）",
        "explanation": "connect() 接管 TIME-WAIT 时，新连接的 ISN = 旧的 SND.NXT + 65537（FIN 的 seq + 1，再加 65535 + 2）："
                       "高于旧连接用过的所有序号，即使没有 PAWS，旧报文段也不会被当成新数据。",
    },
    "ports-per-destination": {
        "title": "端口很少又有 TIME-WAIT 时，能成功几次 connect()",
        "setting": "一台 Linux 客户端的 ip_local_port_range = {low} {high}（{n} 个端口），tcp_tw_reuse = 0。它一个接"
                   "一个地建立 {total} 条短连接，间隔 {every:g} 秒：其中 {a} 条连到同一台服务器的 5000 端口，{b} 条连"
                   "到 5001 端口，顺序是混着的。每条连接都由客户端先关闭，所以每条都在客户端留下一个 TIME-WAIT"
                   "（60 秒）。客户端从不调用 bind()。",
        "asks": "这 {total} 次 connect() 中有几次成功？",
        "trap.shared": "TIME-WAIT 占住的是四元组，不是端口：对 5000 端口处于 TIME-WAIT 的本地端口，对 5001 端口仍然可用，"
                       "所以每个目的端口都有全部 {n} 个端口可用。",
        "trap.freed": "连接处于 TIME-WAIT 的端口，60 秒内不能再用于同一个目的地（tcp_tw_reuse 为 0），而所有连接都在 "
                      "60 秒之内。",
        "hint": "TIME-WAIT 占住的是一个端口，还是一个四元组？按目的端口分开来数（第 11 课第 7、9 节）。",
        "explanation": "connect() 需要一个空闲的四元组。每个 TIME-WAIT 占住一个四元组 60 秒，所以对同一个目的地，客户端"
                       "能建立的连接数等于端口范围里的端口数；换一个目的端口，整个范围又都可用。超出的 connect() 以 "
                       "EADDRNOTAVAIL 失败。",
    },
    "syn-meets-time-wait": {
        "title": "没有时间戳时，SYN 撞上 TIME-WAIT",
        "setting": "服务器先关闭，对 10.0.1.1:50000 -> 10.0.0.1:80 处于 TIME-WAIT；两台主机都关闭了时间戳，服务器仍在"
                   " 80 端口监听。旧连接中服务器的 SND.NXT 是 {snd_nxt}，RCV.NXT 是 {rcv_nxt}。这时一个从 "
                   "10.0.1.1:50000 发往 80 端口的 SYN 到达，seq = {syn}。",
        "asks": "服务器怎样回答？",
        "option.synack": "回 SYN,ACK：这个 SYN 建立新连接，服务器的 ISN 是 {isn}。",
        "rebut.synack": "只有当 SYN 的 seq 高于旧的 RCV.NXT（有时间戳时，或者 TSval 更新）时，Linux 才把 TIME-WAIT 中的"
                        " SYN 当作新连接；这个 SYN 低于它，可能是旧的重复报文段。",
        "option.old_ack": "回一个旧连接的 ACK，seq = {snd_nxt}，ack = {rcv_nxt}；不建立新连接。",
        "rebut.old_ack": "seq 高于旧 RCV.NXT 的 SYN 不可能是那条连接的旧重复报文段，所以 TIME-WAIT 把它交给监听套接字"
                         "（RFC 9293 第 3.6.1 节，MAY-2）。",
        "option.rst": "回 RST：四元组还在使用中，所以拒绝这个 SYN。",
        "rebut.rst": "处于 TIME-WAIT 的一方从不用 RST 回答 SYN：要么把它当作新连接，要么回一个旧连接的确认报文段。",
        "option.silent": "什么也不回：TIME-WAIT 结束之前丢弃一切报文段。",
        "rebut.silent": "TIME-WAIT 会回答收到的报文段：重传的 FIN 会被再次确认，SYN 则换来 SYN,ACK 或 ACK。",
        "hint": "把这个 SYN 的序号和旧的 RCV.NXT 比一比。内核的 tcp_timewait_state_process 函数在 SYN 的序号位于旧的"
                " RCV.NXT 之后时，把它当作新连接交给监听套接字，否则回一个旧连接的 ACK（第 11 课第 13 节）。",
        "explanation": "没有时间戳时，TIME-WAIT 只能凭序号判断：高于旧 RCV.NXT 的 SYN 是新的，监听套接字以 ISN = 旧的 "
                       "SND.NXT + 65537 回答它；低于它的 SYN 可能是旧的重复报文段，换来一个旧连接的 ACK。",
    },
})

# ---------------------------------------------------------------- 第 12 课：出故障的时候
QUESTIONS.update({
    "crash-idle-peer": {
        "title": "空闲的客户端消失之后，服务器处于什么状态",
        "setting": "连接建立了，双方的应用程序都不发送任何东西。连接建立 {at:g} 秒后，{event}。服务器的应用程序从不调用 "
                   "close()，双方都没有开启保活。单向传播时延是 {delay} 秒。",
        "event.exit": "客户端的进程被杀死了（它的主机照常运行）",
        "event.crash": "客户端主机断电，再也没有开机",
        "event.reboot": "客户端主机断电，3 秒后重新启动",
        "asks": "连接建立 {later:g} 秒后，服务器这一侧的连接处于什么状态？",
        "trap.ESTABLISHED": "什么都收不到的服务器确实会停在这里；可是进程被杀死时内核还活着，它会像 close() 那样关闭套接字，"
                            "发出 FIN。",
        "trap.CLOSE_WAIT": "只有收到对方的 FIN 才会进入 CLOSE-WAIT；断电的主机什么也不发，连 FIN 也没有。",
        "trap.CLOSED": "只有收到 RST 或者定时器到时，服务器才会关闭连接；没有保活的空闲连接没有任何定时器，也没有任何报文"
                       "段发给它。",
        "hint": "这三种情况各自往链路上发什么：被杀死的进程（内核还活着）、断电的主机、重启过但从没收到过报文段的主机？空闲"
                "的连接有没有定时器（RFC 9293 第 3.5.1、3.10.8 节；第 12 课第 1、2 节）？",
        "explanation": "进程被杀死时，内核发出 FIN，服务器进入 CLOSE-WAIT，并一直停在那里，直到它自己的应用程序关闭。断电"
                       "的主机什么也不发，重启与否都一样；服务器既没有数据要发，也没有保活，就永远不会知道：它的连接停在 "
                       "ESTABLISHED，成了半开连接。",
    },
    "keepalive-gives-up": {
        "title": "保活什么时候放弃一个已经死掉的对方",
        "setting": "一台 Linux 服务器开启了 SO_KEEPALIVE，tcp_keepalive_time = {idle} 秒，tcp_keepalive_intvl = {interval} "
                   "秒，tcp_keepalive_probes = {probes}。连接是空闲的；连接建立后不久，客户端主机断电，再也没有开机。",
        "asks": "从服务器最后一次收到客户端的报文段算起，过多少秒，服务器的应用程序会得到“连接超时”？",
        "trap.last_probe": "这是发出最后一个探测报文的时刻；Linux 还要再等一个间隔看有没有应答，在下一次到时才重置连接。",
        "trap.first_probe": "这是第一个探测报文；所有探测报文都得不到应答之后，连接才会被放弃。",
        "trap.no_idle": "探测要在沉默了 tcp_keepalive_time 之后才开始。",
        "trap.one_more": "最后一个探测报文得不到应答，下一次到时就结束连接，之后不会再多等一个间隔。",
        "hint": "看内核 net/ipv4/tcp_timer.c 里的 tcp_keepalive_timer 函数：空闲时间到了发第一个探测报文，之后每隔一个间隔发"
                "一个；最后一个发出之后的那次到时，如果都没有应答，就发 RST 并报告超时（第 12 课第 2 节）。",
        "explanation": "从最后一次听到对方算起，保活在 tcp_keepalive_time + tcp_keepalive_probes × tcp_keepalive_intvl 时放弃："
                       "探测报文在空闲时间到时发出，之后每个间隔一个，最后一个之后的那次到时重置连接。",
    },
    "half-open-reconnect": {
        "title": "清除半开连接的那个 RST",
        "setting": "客户端从 {port} 端口连接服务器的 80 端口（客户端的 ISN 是 {client_isn}，服务器的 ISN 是 {server_isn}），"
                   "发送了 {m} 字节，全部得到确认；服务器什么也没发。后来客户端主机断电，又重新启动；服务器这一侧仍处于 "
                   "ESTABLISHED。重启后的客户端又从 {port} 端口发起连接。服务器用旧连接的 ACK 回答它的 SYN，客户端再用 RST "
                   "回答这个 ACK。",
        "asks": "客户端这个 RST 的序号是多少？",
        "trap.zero": "只有回答不带 ACK 的报文段时，RST 才用 seq=0；服务器的挑战 ACK 是带 ACK 的。",
        "trap.snd_nxt": "这是服务器自己的 SND.NXT，也就是挑战 ACK 的序号；RST 取的是它所回答的那个报文段的确认号。",
        "trap.new_syn": "这个 RST 回答的是服务器的 ACK，而不是客户端自己的 SYN：它取那个 ACK 的确认号。",
        "trap.syn_counts": "SYN 自己也占一个序号：服务器期待的是 ISN + 1 再加上那些字节。",
        "hint": "挑战 ACK 带的是服务器旧连接的 <SEQ=SND.NXT><ACK=RCV.NXT>；客户端的 SYN 和那些字节之后，服务器的 RCV.NXT "
                "是多少？处于 SYN-SENT 的客户端收到一个不确认它所发任何东西"
                "的 ACK 时，回答 <SEQ=SEG.ACK><CTL=RST>（RFC 9293 第 3.10.7.3 节；第 12 课第 5 节）。",
        "explanation": "RST 的序号是挑战 ACK 的确认号，也就是服务器旧连接的 RCV.NXT：正好是服务器期待的序号，所以即使按 "
                       "RFC 5961 它也会接受这个 RST，中止旧连接；客户端的下一个 SYN 就只会遇到监听套接字了。",
    },
})
