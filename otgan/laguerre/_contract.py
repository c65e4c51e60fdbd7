r"""The contract between cell geometries and the semi-discrete solvers: :class:`CellDiagram`.

A cell diagram is the partition of a domain :math:`D` into the Laguerre cells

.. math:: L_j = \{x \in D : c(x, y_j) - \psi_j \le c(x, y_k) - \psi_k \ \forall k\}

of sites :math:`y_j` with a potential :math:`\psi`, together with the integrals of a source
measure :math:`\mu` over the cells. Everything :func:`otgan.semidiscrete.newton` needs is here:
the masses :math:`G_j(\psi) = \mu(L_j)`, the transport costs of the cells, the semi-dual, and the
Jacobian of the masses in :math:`\psi`, a weighted graph Laplacian

.. math:: \frac{\partial G_i}{\partial \psi_j} = -W_{ij} \ (i \ne j), \qquad
          \frac{\partial G_i}{\partial \psi_i} = \sum_{k \ne i} W_{ik}, \qquad
          W_{ij} = \int_{L_i \cap L_j} \frac{\rho(x)}{\|\nabla_x c(x, y_i) - \nabla_x c(x, y_j)\|}
          \, ds(x) \ge 0

(Kitagawa, Mérigot & Thibert 2019): moving :math:`\psi_i` up grows cell :math:`i` and shrinks its
neighbours. For the quadratic cost :math:`\|\nabla_x c(x, y_i) - \nabla_x c(x, y_j)\| = 2 \|y_i
- y_j\|`; for the Euclidean cost it is :math:`\|u_i - u_j\|`, :math:`u_k = (x - y_k)/\|x - y_k\|`.

Continuation (a source with zeros or a disconnected support) mixes :math:`\mu` with the uniform
probability on the bounding box :math:`B` of the domain: the diagram also gives the masses and
weights of the *box-clipped* cells under that reference measure (:attr:`box_masses`,
:attr:`box_weights`), so that the masses of :math:`(1 - \varepsilon)\mu + \varepsilon U(B)` are
linear in :math:`\varepsilon` and need no new diagram (:meth:`regularised`).

Nothing here assumes the plane: a 3-D power-cell implementation would provide the same
attributes.

Implementations: :class:`otgan.laguerre.LaguerreDiagram` (power cells, quadratic cost) and
:class:`otgan.laguerre.W1Diagram` (additively weighted cells, Euclidean cost), each made by a
factory that owns its search structure (:class:`otgan.laguerre.PowerDiagrams`,
:class:`otgan.laguerre.ApolloniusDiagrams`).
"""

from __future__ import annotations

import abc

import numpy as np

from .. import plot as _plot
from .._graph import laplacian

__all__ = ["CellDiagram"]


class CellDiagram(abc.ABC):
    r"""The contract every cell diagram meets (see the module docstring for the maths).

    Every implementation provides the attributes below (numpy arrays and scipy sparse matrices,
    on the CPU) and inherits :meth:`jacobian`, :meth:`regularised`, :meth:`semi_dual` and
    :meth:`plot`.

    Attributes
    ----------
    y : numpy array (J, d)
        Sites (float64).
    psi : numpy array (J,)
        The potential.
    domain : shapely geometry
        The domain ``D``.
    measure : otgan.measures.DensityMeasure
        The source :math:`\mu`.
    areas : (J,)
        Lebesgue areas :math:`|L_j|`.
    centroids : (J, d)
        Geometric centroids; ``nan`` for empty cells.
    empty : (J,) bool
        Cells of zero area.
    masses : (J,)
        :math:`\mu(L_j)`.
    barycenters : (J, d)
        :math:`\int_{L_j} x\, d\mu / \mu(L_j)`; ``nan`` where the mass is 0.
    moments : (J,)
        :math:`\int_{L_j} c(x, y_j)\, d\mu(x)`: their sum is the transport cost of
        :math:`T_\psi`.
    weights : scipy.sparse.csr_matrix (J, J)
        The symmetric weights :math:`W_{ij} \ge 0` of the Jacobian (module docstring).
    box_masses : (J,)
        Masses of the cells clipped to the bounding box ``B`` of the domain under the uniform
        probability on ``B`` (continuation).
    box_weights : scipy.sparse.csr_matrix (J, J)
        The weights of those masses.
    polygons : (J,) object array of shapely geometries
        The cells, for drawing and exact clipping (polygonal approximations for curved cells).
    """

    #: the ground cost of the cells, as a string
    cost = None

    # ---- the contract ------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def weights(self):
        """The symmetric weights ``W`` (csr) of the Jacobian of the masses."""

    @property
    @abc.abstractmethod
    def box_masses(self):
        """Masses of the box-clipped cells under the uniform probability on the box."""

    @property
    @abc.abstractmethod
    def box_weights(self):
        """The Jacobian weights of :attr:`box_masses`."""

    @property
    @abc.abstractmethod
    def polygons(self):
        """The cells as shapely geometries."""

    # ---- shared ------------------------------------------------------------------------
    def jacobian(self, eps=0.0):
        r"""Return the Jacobian of the masses in the potential: the Laplacian of the weights.

        :math:`\partial \mu(L_i) / \partial \psi_j` is the graph Laplacian ``diag(W 1) - W``
        of the weights ``W`` (module docstring): symmetric positive semi-definite, with the
        constants of each connected component of the cell graph in its kernel.

        Parameters
        ----------
        eps : float, default 0
            The Jacobian of the masses under the regularised source
            :math:`(1 - \varepsilon)\mu + \varepsilon U(B)` (``B`` the bounding box of the
            domain, see :meth:`regularised`); 0 gives that of :math:`\mu` itself.

        Returns
        -------
        scipy.sparse.csr_matrix (J, J)
            ``diag(W 1) - W`` for the weights ``W`` of :meth:`regularised` at ``eps``.
        """
        return laplacian(self.regularised(eps)[1])

    def regularised_masses(self, eps):
        r"""Return the masses of the cells under the regularised source of :meth:`regularised`.

        ``(1 - eps) * masses + eps * box_masses``, without the Jacobian weights (a trial step of
        a line search needs the masses alone, and the weights cost the edges of the cells).

        Parameters
        ----------
        eps : float
            The weight of :math:`U(B)` (between 0 and 1).

        Returns
        -------
        numpy float64 array (J,)
            The masses of the cells under :math:`(1 - \varepsilon) \mu + \varepsilon U(B)`.
        """
        masses = np.asarray(self.masses, dtype=np.float64)
        if eps == 0.0:
            return masses
        return (1.0 - eps) * masses + eps * self.box_masses

    def regularised(self, eps):
        r"""Return the masses and Jacobian weights of the cells under a regularised source.

        The source is :math:`(1 - \varepsilon) \mu + \varepsilon U(B)`, :math:`U(B)` the
        uniform probability on the bounding box ``B`` of the domain. Both are linear in
        :math:`\varepsilon`: ``(1 - eps) * masses + eps * box_masses`` and
        ``(1 - eps) * weights + eps * box_weights``, so no new diagram is computed.

        Parameters
        ----------
        eps : float
            The weight of :math:`U(B)` (between 0 and 1); ``eps = 0`` gives ``masses`` and
            ``weights`` themselves.

        Returns
        -------
        masses : numpy float64 array (J,)
            The masses of the cells under the regularised source.
        weights : scipy.sparse.csr_matrix (J, J)
            Their Jacobian weights (:meth:`jacobian` is their Laplacian).
        """
        if eps == 0.0:
            return self.regularised_masses(eps), self.weights
        return self.regularised_masses(eps), ((1.0 - eps) * self.weights
                                              + eps * self.box_weights).tocsr()

    def semi_dual(self, nu) -> float:
        r"""Return the exact semi-dual at this diagram's potential.

        .. math:: H(\psi) = \sum_j \int_{L_j} c(x, y_j)\, d\mu - \psi \cdot \mu(L)
                  + \nu \cdot \psi = \int \psi^c\, d\mu + \nu \cdot \psi,

        from ``moments`` and ``masses`` (no quadrature).

        Parameters
        ----------
        nu : array_like (J,)
            The target masses (converted to float64 numpy, not validated).

        Returns
        -------
        float
            :math:`H(\psi)`.
        """
        nu = np.asarray(nu, dtype=np.float64)
        return float(np.sum(self.moments) + np.einsum("i,i->", nu - self.masses, self.psi))

    def plot(self, ax=None, *, sites=True, fill=None, **kwargs):
        """Draw the cells and the sites on ``ax``, in the lectures' colours.

        The cells get orange outlines (:func:`otgan.plot.polygons`), the sites are navy dots
        (:func:`otgan.plot.data`); the view is the domain's bounding box, with equal aspect.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Default: the axes of a new 5 x 5 inch figure.
        sites : bool, default True
            Also draw the sites ``y``.
        fill : array_like (J,), optional
            One scalar per cell, shaded in oranges inside the cells (e.g. ``D.masses``).
        **kwargs
            Passed to :func:`otgan.plot.polygons` (``color``, ``linewidth``, ``vmin``, ...).

        Returns
        -------
        matplotlib.axes.Axes
            ``ax``.
        """
        if ax is None:
            import matplotlib.pyplot as plt  # pyplot only when a figure is asked for

            _, ax = plt.subplots(figsize=(5, 5))
        _plot.polygons(ax, self.polygons, fill=fill, **kwargs)
        if sites:
            _plot.data(ax, self.y, label=None, size=12)
        x0, y0, x1, y1 = self.domain.bounds
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal")
        return ax

    def __repr__(self):
        J = int(self.y.shape[0])
        return (f"{type(self).__name__}(J={J}, cost={self.cost!r}, empty={int(self.empty.sum())},"
                f" domain area={self.domain.area:.6g}, measure={type(self.measure).__name__})")
