"""BUM agreements (bestiller–udfører–modtager): buying services at cost price under an
agreement, a second process beside the applications.

Modules: ``pricing`` (cost price, a-conto instalments and the true-up, to the øre),
``rules`` (the agreement's named guards and effects, registered on import), ``views``
(an agreement's years as the faces and documents show them).
"""
